import COrthancPlugin
import Foundation
import Logging
import WSIRoutes
import WSITileService

/// The tile service mounted in Orthanc: settings from Orthanc's configuration (`"Dicomizer": {...}`),
/// the store over Orthanc's series, the shared route table under `Root`, registered NoLock so requests
/// run in parallel on Orthanc's HTTP threads, and the change callback feeding the index worker.
public final class DicomizerPlugin: @unchecked Sendable {
    /// The running plugin, for the C callbacks (which cannot capture). Set once in `start`, before any
    /// callback is registered, and never changed after.
    nonisolated(unsafe) static var current: DicomizerPlugin?

    let host: OrthancHost
    let root: String
    let store: OrthancSlideStore
    let routes: TileRoutes
    let worker: OrthancIndexWorker

    init(host: OrthancHost, root: String, store: OrthancSlideStore, routes: TileRoutes, worker: OrthancIndexWorker) {
        self.host = host
        self.root = root
        self.store = store
        self.routes = routes
        self.worker = worker
    }

    /// Reads the configuration and registers everything; 0 on success, as `OrthancPluginInitialize` returns.
    public static func start(context: UnsafeMutablePointer<OrthancPluginContext>) -> Int32 {
        let host = OrthancHost(context: context)
        guard OrthancPluginCheckVersion(context) != 0 else {
            host.error("this Orthanc (\(host.orthancVersion)) is older than the SDK the plugin was built with")
            return -1
        }
        let configuration = host.configuration()
        let section = configuration["Dicomizer"] as? [String: Any] ?? [:]
        guard let root = normalizedRoot(section["Root"] as? String ?? "/dicomizer") else {
            host.error("Dicomizer.Root must be a path such as /dicomizer (letters, digits, '-', '_', '/')")
            return -1
        }
        let store = OrthancSlideStore(host: host, storageDirectory: storageDirectory(configuration))
        let cacheMB = (section["CacheMB"] as? NSNumber)?.intValue ?? 256
        let service = TileService(store: store, cacheBytes: max(1, cacheMB) << 20)
        var settings = RouteSettings()
        settings.webRoot = (section["WebRoot"] as? String) ?? defaultWebRoot()
        settings.corsOrigins = section["CORS"] as? [String] ?? []
        settings.dicomweb = dicomwebMount(configuration, host: host)
        var logger = Logger(label: "dicomizer.orthanc")
        logger.logLevel = .critical  // errors go to Orthanc's log through the host
        let routes = TileRoutes(service: service, settings: settings, logger: logger)
        let refresh = (section["RefreshSeconds"] as? NSNumber)?.doubleValue ?? 10
        let worker = OrthancIndexWorker(store: store, refreshInterval: refresh)
        current = DicomizerPlugin(host: host, root: root, store: store, routes: routes, worker: worker)

        let pattern = NSRegularExpression.escapedPattern(for: root) + "(/.*)?"
        OrthancPluginRegisterRestCallbackNoLock(context, pattern, restCallback)
        OrthancPluginRegisterOnChangeCallback(context, changeCallback)
        OrthancPluginSetDescription(context, "Whole-slide tiles, IIIF and a viewer for the pyramids Orthanc stores (dicomizer).")
        OrthancPluginExtendOrthancExplorer(context, OrthancExplorer.script(root: root))
        host.warning("serving slides at \(root)/ (storage read \(store.storageDirectory.map { "directly from \($0)" } ?? "through the SDK"), web files: \(settings.webRoot ?? "none"))")
        return 0
    }

    public static func stop() {
        current?.worker.stop()
    }

    /// "/dicomizer" from "dicomizer/", "/dicomizer", ...; nil for anything else than a plain path.
    static func normalizedRoot(_ text: String) -> String? {
        let parts = text.split(separator: "/")
        guard !parts.isEmpty, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") } }) else { return nil }
        return "/" + parts.joined(separator: "/")
    }

    /// Orthanc's storage folder when it is its default, uncompressed, local storage area.
    static func storageDirectory(_ configuration: [String: Any]) -> String? {
        if (configuration["StorageCompression"] as? Bool) == true { return nil }
        let directory = configuration["StorageDirectory"] as? String ?? "OrthancStorage"
        let absolute = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        return (absolute as NSString).standardizingPath
    }

    /// Orthanc's DICOMweb plugin's root, when that plugin is loaded: our links point there.
    static func dicomwebMount(_ configuration: [String: Any], host: OrthancHost) -> DICOMwebMount {
        let plugins = (configuration["Plugins"] as? [String]) ?? []
        guard plugins.contains(where: { $0.lowercased().contains("dicomweb") }) else { return .none }
        let root = ((configuration["DicomWeb"] as? [String: Any])?["Root"] as? String) ?? "/dicom-web/"
        return .external(root.hasSuffix("/") ? String(root.dropLast()) : root)
    }

    /// web/ beside the plugin or up to three folders up (a build folder inside the repository), or installed.
    static func defaultWebRoot() -> String? {
        var candidates: [String] = []
        if let name = loadedFrom(UInt(bitPattern: #dsohandle)) {
            let folder = URL(fileURLWithPath: name).resolvingSymlinksInPath().deletingLastPathComponent()
            // Beside it, or the repository's web/ when it sits in .build/<triple>/<configuration>/.
            var up = folder
            for _ in 0..<4 {
                candidates.append(up.appendingPathComponent("web").path)
                up = up.deletingLastPathComponent()
            }
        }
        candidates += ["/usr/local/share/dicomizer/web", "/usr/share/dicomizer/web"]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/index.html") }
    }

    /// The file mapped at `address` in this process (the plugin's own .so for `#dsohandle`), from
    /// /proc/self/maps: lines "start-end perms offset dev inode path".
    static func loadedFrom(_ address: UInt) -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let dash = fields[0].firstIndex(of: "-"),
                  let start = UInt(fields[0][..<dash], radix: 16), let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                  start <= address, address < end else { continue }
            let path = fields[5].trimmingCharacters(in: .whitespaces)
            return path.hasPrefix("/") ? path : nil
        }
        return nil
    }

    /// One request from Orthanc's HTTP server.
    func handle(output: OpaquePointer, url: String, request: UnsafePointer<OrthancPluginHttpRequest>) {
        let http = request.pointee
        let method: String
        switch http.method {
        case OrthancPluginHttpMethod_Get: method = "GET"
        case OrthancPluginHttpMethod_Post: method = "POST"
        case OrthancPluginHttpMethod_Put: method = "PUT"
        case OrthancPluginHttpMethod_Delete: method = "DELETE"
        default: method = "OTHER"
        }
        var headers: [String: String] = [:]
        for i in 0..<Int(http.headersCount) {
            guard let key = http.headersKeys?[i], let value = http.headersValues?[i] else { continue }
            headers[String(cString: key).lowercased()] = String(cString: value)
        }
        var query: [(name: String, value: String)] = []
        for i in 0..<Int(http.getCount) {
            guard let key = http.getKeys?[i], let value = http.getValues?[i] else { continue }
            query.append((String(cString: key), String(cString: value)))
        }
        let path = url.hasPrefix(root) ? String(url.dropFirst(root.count)) : url
        // Orthanc hands over decoded paths: encode again what the table decodes per segment.
        let encoded = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        let base = RouteRequest.baseURL(publicURL: nil, scheme: "http", host: headers["host"], mount: root)
        let answer = routes.respond(RouteRequest(method: method, path: encoded, query: query, headers: headers, baseURL: base))
        send(answer, output: output)
    }

    private func send(_ answer: RouteResponse, output: OpaquePointer) {
        let context = host.context
        switch answer.status {
        case 200:
            for (name, value) in answer.headers where !["content-type", "content-length"].contains(name.lowercased()) {
                OrthancPluginSetHttpHeader(context, output, name, value)
            }
            answer.body.withUnsafeBytes { bytes in
                OrthancPluginAnswerBuffer(context, output, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(bytes.count),
                                          answer.contentType ?? "application/octet-stream")
            }
        case 301, 302, 303, 307, 308:
            OrthancPluginRedirect(context, output, answer.header("Location") ?? root)
        case 401:
            OrthancPluginSendUnauthorized(context, output, "dicomizer")
        case 405:
            OrthancPluginSendMethodNotAllowed(context, output, "GET")
        default:
            answer.body.withUnsafeBytes { bytes in
                OrthancPluginSendHttpStatus(context, output, UInt16(clamping: answer.status),
                                            bytes.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
            }
        }
    }
}

/// The REST callback: Orthanc calls it on its HTTP threads, several at once (NoLock).
private let restCallback: OrthancPluginRestCallback = { output, url, request in
    guard let plugin = DicomizerPlugin.current, let output, let url, let request else { return OrthancPluginErrorCode_InternalError }
    plugin.handle(output: output, url: String(cString: url), request: request)
    return OrthancPluginErrorCode_Success
}

/// The change callback: records what changed for the worker; no REST call here (the SDK forbids it).
private let changeCallback: OrthancPluginOnChangeCallback = { change, type, resource in
    guard let plugin = DicomizerPlugin.current else { return OrthancPluginErrorCode_Success }
    switch change {
    case OrthancPluginChangeType_OrthancStarted:
        plugin.worker.start()
    case OrthancPluginChangeType_OrthancStopped:
        plugin.worker.stop()
    case OrthancPluginChangeType_NewInstance:
        if let resource { plugin.worker.instanceAdded(String(cString: resource)) }
    case OrthancPluginChangeType_Deleted:
        plugin.worker.somethingDeleted()
    default:
        break
    }
    _ = type
    return OrthancPluginErrorCode_Success
}
