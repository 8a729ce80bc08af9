// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "dicomizer",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dicomizer", targets: ["dicomizer"]),
        .library(name: "WSIDICOM", targets: ["WSIDICOM"]),
        .library(name: "WSISources", targets: ["WSISources"]),
        .library(name: "WSIPyramid", targets: ["WSIPyramid"]),
        .library(name: "WSITileService", targets: ["WSITileService"]),
        .library(name: "WSITileServer", targets: ["WSITileServer"]),
        // The Orthanc plugin: load .build/release/libDicomizerOrthanc.so with "Plugins" in Orthanc's configuration.
        .library(name: "DicomizerOrthanc", type: .dynamic, targets: ["DicomizerOrthanc"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // No default traits: they add build time and nothing the server uses.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0", traits: []),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // C wrappers: one per native library, nothing else in them.
        .systemLibrary(name: "COpenSlide", pkgConfig: "openslide", providers: [.apt(["libopenslide-dev"])]),
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "COpenJPEG", pkgConfig: "libopenjp2", providers: [.apt(["libopenjp2-7-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // libjpeg's classic API, for the test-slide generator only (JPEG with restart markers).
        .systemLibrary(name: "CJPEGLib", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        .target(
            name: "CDCMTKShim",
            linkerSettings: [
                .linkedLibrary("dcmnet"), .linkedLibrary("dcmdata"),
                .linkedLibrary("oflog"), .linkedLibrary("ofstd"),
            ]
        ),

        // Our DCT-domain JPEG re-encoder over libjpeg's coefficient API (C: libjpeg reports errors by longjmp).
        .target(name: "CJPEGTranscode", linkerSettings: [.linkedLibrary("jpeg")]),
        // Pixel kernels in C with vector types (Swift's scalar loops were the cost): 2 x 2 averaging.
        .target(name: "CPixelKernels"),

        // Interposes Cairo's cairo_set_operator so OpenSlide's level-0 reads composite through pixman's 8-bit
        // path instead of its floating-point SATURATE (see include/openslide_compositing.h).
        .target(name: "COpenSlideCompositing", linkerSettings: [.linkedLibrary("dl")]),

        // Orthanc's plugin SDK header (Debian orthanc-dev); header only, nothing to link.
        .systemLibrary(name: "COrthancPlugin", providers: [.apt(["orthanc-dev"])]),

        // prctl for the batch's child processes (variadic in C, so not callable from Swift) and mallopt.
        .target(name: "CProcessControl"),
        // O_DIRECT for the DICOM writer (a GNU flag Swift's Glibc module leaves out).
        .target(name: "CDirectIO"),

        // Codecs: JPEG, JPEG 2000, PNG; images as value types.
        .target(name: "WSICodecs", dependencies: ["CTurboJPEG", "COpenJPEG", "CPNG", "CJPEGTranscode", "CPixelKernels"]),
        // Slide sources: one file per source kind behind `SlideSource`.
        .target(name: "WSISources", dependencies: ["WSICodecs", "CTIFF", "COpenSlide", "COpenSlideCompositing", "CPixelKernels"]),
        // DICOM: Part 10 writing and reading, the WSI IOD, UIDs, metadata mapping.
        .target(name: "WSIDICOM", dependencies: ["WSICodecs", "CDirectIO"]),
        // The pyramid engine: planning, downsampling, the streaming conversion.
        .target(name: "WSIPyramid", dependencies: ["WSICodecs", "WSISources", "WSIDICOM"]),
        // Batch conversion: inputs, shards, manifest, per-slide metadata.
        .target(name: "WSIBatch", dependencies: ["WSIPyramid", "WSISources", "WSIDICOM", "WSICodecs", "CProcessControl"]),
        // Export to a PACS: C-STORE through DCMTK, STOW-RS through AsyncHTTPClient.
        .target(
            name: "WSIExport",
            dependencies: ["CDCMTKShim", "WSIDICOM", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        // The tile service: slide library, frame index, tiles, IIIF rendering; no HTTP.
        .target(
            name: "WSITileService",
            dependencies: ["WSIDICOM", "WSICodecs", .product(name: "Logging", package: "swift-log")]
        ),
        // The route table every host mounts: HTTP-independent requests and answers.
        .target(
            name: "WSIRoutes",
            dependencies: ["WSITileService", "WSIDICOM", "WSICodecs", .product(name: "Logging", package: "swift-log")]
        ),
        // `dicomizer serve`: the route table on Hummingbird.
        .target(
            name: "WSITileServer",
            dependencies: [
                "WSIRoutes", "WSITileService", "WSIDICOM", "WSICodecs",
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The route table mounted in Orthanc: a store over Orthanc's series, the index worker, the REST host.
        .target(
            name: "WSIOrthanc",
            dependencies: ["COrthancPlugin", "WSIRoutes", "WSITileService", "WSIDICOM", .product(name: "Logging", package: "swift-log")]
        ),
        // The plugin's entry points. The Swift runtime is linked in statically so that Orthanc loads it
        // on a machine without the Swift toolchain.
        .target(
            name: "DicomizerOrthanc",
            dependencies: ["WSIOrthanc", "COrthancPlugin"],
            // Foundation's static archives depend on each other in a cycle the link order does not
            // follow for a shared library: name them again after the objects that need them.
            linkerSettings: [.unsafeFlags(["-static-stdlib"])] + [
                "Foundation", "FoundationInternationalization", "FoundationEssentials", "_FoundationCollections",
                "CoreFoundation", "_FoundationICU", "_FoundationCShims",
            ].map { .linkedLibrary($0) }
        ),
        .executableTarget(
            name: "dicomizer",
            dependencies: [
                "WSIPyramid", "WSISources", "WSIDICOM", "WSICodecs", "WSITileServer", "WSIBatch", "WSIExport", "CProcessControl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-slide generator (tools/testslide): realistic tissue-like slides in several shapes.
        .executableTarget(
            name: "wsi-testslide",
            dependencies: ["WSICodecs", "CTIFF", "CJPEGLib", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/testslide"
        ),
        // Codec floor (tools/codecfloor): TurboJPEG's own rates on a slide's tiles, for the benchmark.
        .executableTarget(
            name: "wsi-codec-floor",
            dependencies: ["WSICodecs", "WSISources", "CTurboJPEG", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/codecfloor"
        ),
        .testTarget(
            name: "WSITests",
            dependencies: [
                "WSIPyramid", "WSISources", "WSIDICOM", "WSICodecs", "CDCMTKShim", "CJPEGLib", "WSITileService", "WSITileServer", "WSIRoutes", "WSIBatch", "WSIExport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/WSITests"
        ),
    ],
    cxxLanguageStandard: .cxx17
)
