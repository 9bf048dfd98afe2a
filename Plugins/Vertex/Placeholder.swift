// Building blocks of the Vertex plugin (service-account JWT, token cache) arrive here.
