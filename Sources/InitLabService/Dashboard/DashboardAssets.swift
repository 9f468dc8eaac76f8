/// The dashboard, shipped inside the binary: one HTML page, one stylesheet, one script. No CDN, no build step.
enum DashboardAssets {
    enum Asset: CaseIterable, Equatable {
        case css, js

        var path: String {
            switch self {
            case .css: "/dashboard/app.css"
            case .js: "/dashboard/app.js"
            }
        }

        var contentType: String {
            switch self {
            case .css: "text/css; charset=utf-8"
            case .js: "text/javascript; charset=utf-8"
            }
        }

        var content: String {
            switch self {
            case .css: DashboardAssets.css
            case .js: DashboardAssets.js
            }
        }
    }
}
