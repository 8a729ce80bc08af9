import COrthancPlugin
import WSIOrthanc

// The four entry points Orthanc looks up when it loads a plugin. Everything else is in WSIOrthanc.

private let pluginName: StaticString = "dicomizer"
private let pluginVersion: StaticString = "0.6.0"

@_cdecl("OrthancPluginInitialize")
public func orthancPluginInitialize(_ context: UnsafeMutablePointer<OrthancPluginContext>?) -> Int32 {
    guard let context else { return -1 }
    return DicomizerPlugin.start(context: context)
}

@_cdecl("OrthancPluginFinalize")
public func orthancPluginFinalize() {
    DicomizerPlugin.stop()
}

@_cdecl("OrthancPluginGetName")
public func orthancPluginGetName() -> UnsafePointer<CChar> {
    UnsafeRawPointer(pluginName.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("OrthancPluginGetVersion")
public func orthancPluginGetVersion() -> UnsafePointer<CChar> {
    UnsafeRawPointer(pluginVersion.utf8Start).assumingMemoryBound(to: CChar.self)
}
