// Building blocks of the Bedrock plugin (SigV4, AWS event stream) arrive here.
