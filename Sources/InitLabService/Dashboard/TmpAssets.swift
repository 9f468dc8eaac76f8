extension DashboardAssets { static let html = "<!doctype html><title>InitLab</title>" ; static let css = ""; static let js = "" }
