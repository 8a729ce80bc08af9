import WSIDICOM

/// Where a tile service finds its slides: a folder scanned on disk (`SlideLibrary`), or an archive
/// such as Orthanc (the plugin's store). The routes and the service see only this.
public protocol SlideStore: AnyObject, Sendable {
    /// Every slide, in a stable order.
    var slides: [Slide] { get }
    /// The slide with this identifier (Series Instance UID; a store may accept its own ids too). A store
    /// may look it up on a miss, so a slide stored elsewhere moments ago is found.
    func slide(_ id: String) -> Slide?
    /// A frame of `file` could not be read: the store may re-index it.
    func frameReadFailed(_ file: DICOMFile)
}

extension SlideStore {
    public func frameReadFailed(_ file: DICOMFile) {}
}
