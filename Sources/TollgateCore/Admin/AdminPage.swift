import Foundation

/// `GET /admin`: the operator's web page, `Resources/admin-page.html`. One self-contained
/// document (HTML, CSS and plain JavaScript inline, no CDN, no build step) so it works on an
/// offline machine; its Content-Security-Policy forbids every other origin. The page holds
/// nothing secret: it asks for the admin key, keeps it in sessionStorage and calls the JSON admin
/// API with it in the Authorization header.
enum AdminPage {
    static func serve(_ handler: RequestHandler) {
        handler.writeText(status: 200, contentType: "text/html; charset=utf-8", body: html)
        handler.requestEnded(status: 200)
    }

    /// Read once, on first use.
    static let html: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "admin-page", withExtension: "html"), let data = try? Data(contentsOf: url) else {
            return Array("<!doctype html><title>Tollgate admin</title><p>The admin page is missing from this build (admin-page.html).".utf8)
        }
        return Array(data)
    }()
}
