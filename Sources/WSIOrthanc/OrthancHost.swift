import COrthancPlugin
import Foundation

/// Orthanc as seen from inside: its REST API (called in-process, no HTTP), its log and its
/// configuration, over the plugin context Orthanc hands to `OrthancPluginInitialize`. The context is
/// thread-safe (Orthanc serialises what needs it), and lives as long as the plugin.
public final class OrthancHost: @unchecked Sendable {
    let context: UnsafeMutablePointer<OrthancPluginContext>

    public init(context: UnsafeMutablePointer<OrthancPluginContext>) {
        self.context = context
    }

    /// `GET uri` on Orthanc's own REST API, after other plugins' routes; nil when Orthanc answers an error.
    public func get(_ uri: String) -> Data? {
        var buffer = OrthancPluginMemoryBuffer(data: nil, size: 0)
        let code = OrthancPluginRestApiGet(context, &buffer, uri)
        return take(&buffer, code)
    }

    /// `GET uri`, parsed as JSON.
    public func getJSON(_ uri: String) -> Any? {
        get(uri).flatMap { try? JSONSerialization.jsonObject(with: $0) }
    }

    /// `POST uri` with `body` on Orthanc's REST API; nil when Orthanc answers an error.
    public func post(_ uri: String, body: Data) -> Data? {
        var buffer = OrthancPluginMemoryBuffer(data: nil, size: 0)
        let code = body.withUnsafeBytes { bytes in
            OrthancPluginRestApiPost(context, &buffer, uri, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        }
        return take(&buffer, code)
    }

    /// The stored DICOM file of an instance, whole, through the SDK (whatever the storage area is).
    public func dicom(instance: String) -> Data? {
        var buffer = OrthancPluginMemoryBuffer(data: nil, size: 0)
        let code = OrthancPluginGetDicomForInstance(context, &buffer, instance)
        return take(&buffer, code)
    }

    private func take(_ buffer: inout OrthancPluginMemoryBuffer, _ code: OrthancPluginErrorCode) -> Data? {
        defer { if buffer.data != nil { OrthancPluginFreeMemoryBuffer(context, &buffer) } }
        guard code == OrthancPluginErrorCode_Success else { return nil }
        guard let data = buffer.data else { return Data() }
        return Data(bytes: data, count: Int(buffer.size))
    }

    public func info(_ message: String) { OrthancPluginLogInfo(context, "Dicomizer: \(message)") }
    public func warning(_ message: String) { OrthancPluginLogWarning(context, "Dicomizer: \(message)") }
    public func error(_ message: String) { OrthancPluginLogError(context, "Dicomizer: \(message)") }

    /// Orthanc's whole configuration, as JSON.
    public func configuration() -> [String: Any] {
        guard let text = OrthancPluginGetConfiguration(context) else { return [:] }
        defer { OrthancPluginFreeString(context, text) }
        let data = Data(bytes: text, count: strlen(text))
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// The version of the Orthanc that loaded us ("1.10.1").
    public var orthancVersion: String {
        context.pointee.orthancVersion.map { String(cString: $0) } ?? "unknown"
    }
}
