import Foundation

/// The dashboard, shipped inside the binary: one HTML page, one stylesheet, one script. They are the files in
/// Resources/dashboard/, compiled in by SwiftPM (`.embedInCode`, see Package.swift). No CDN, no build step.
///
/// The page's state lives in the query string (`?runs=id1,id2&metric=std&scale=log&heatmap=id`), so every view
/// is a shareable URL; `?selftest=1` makes the page run two tiny experiments itself and report.
enum DashboardAssets {
    /// Resources/dashboard/index.html, served at `/`.
    static let html = Data(PackageResources.index_html)

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

        /// Resources/dashboard/app.css and app.js (the script is plain ES2020 without dependencies; CI runs
        /// `node --check` on it).
        var content: Data {
            switch self {
            case .css: DashboardAssets.css
            case .js: DashboardAssets.js
            }
        }
    }

    private static let css = Data(PackageResources.app_css)
    private static let js = Data(PackageResources.app_js)
}
