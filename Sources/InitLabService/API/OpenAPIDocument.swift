/// The API contract, served at `GET /openapi.yaml`: the top-level openapi.yaml itself, compiled into the binary
/// by SwiftPM (`.embedInCode` of Resources/openapi.yaml, a symlink to it), so the binary needs no resource files
/// and there is no copy to keep in step.
enum OpenAPIDocument {
    static let bytes: [UInt8] = PackageResources.openapi_yaml

    static var yaml: String { String(decoding: bytes, as: UTF8.self) }
}
