#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmnet/scu.h"
#include "dcmtk/oflog/oflog.h"
#include <map>
#include <set>
#include <string>
#include <vector>
#include <cstring>
#include <cstdio>
#include "dcmtk_shim.h"

static void copyString(char *dst, size_t size, const OFString &src) {
    std::snprintf(dst, size, "%s", src.c_str());
}

static DcmPixelSequence *pixelSequence(DcmDataset *dataset) {
    DcmElement *element = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return nullptr;
    DcmPixelData *pixelData = OFstatic_cast(DcmPixelData *, element);
    E_TransferSyntax xfer = dataset->getOriginalXfer();
    const DcmRepresentationParameter *param = nullptr;
    DcmPixelSequence *sequence = nullptr;
    if (pixelData->getEncapsulatedRepresentation(xfer, param, sequence).bad()) return nullptr;
    return sequence;
}

extern "C" int dcmtk_inspect(const char *path, dcmtk_summary *summary, char *error, size_t errorSize) {
    std::memset(summary, 0, sizeof *summary);
    DcmFileFormat file;
    OFCondition status = file.loadFile(path);
    if (status.bad()) {
        std::snprintf(error, errorSize, "%s", status.text());
        return -1;
    }
    DcmDataset *dataset = file.getDataset();
    OFString value;
    if (dataset->findAndGetOFString(DCM_SOPClassUID, value).good()) copyString(summary->sopClassUID, sizeof summary->sopClassUID, value);
    if (file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, value).good())
        copyString(summary->transferSyntaxUID, sizeof summary->transferSyntaxUID, value);
    if (dataset->findAndGetOFString(DCM_PhotometricInterpretation, value).good())
        copyString(summary->photometricInterpretation, sizeof summary->photometricInterpretation, value);
    Sint32 frames = 0;
    if (dataset->findAndGetSint32(DCM_NumberOfFrames, frames).good()) summary->numberOfFrames = frames;
    Uint16 u16 = 0;
    if (dataset->findAndGetUint16(DCM_Rows, u16).good()) summary->rows = u16;
    if (dataset->findAndGetUint16(DCM_Columns, u16).good()) summary->columns = u16;
    Uint32 u32 = 0;
    if (dataset->findAndGetUint32(DCM_TotalPixelMatrixColumns, u32).good()) summary->totalPixelMatrixColumns = u32;
    if (dataset->findAndGetUint32(DCM_TotalPixelMatrixRows, u32).good()) summary->totalPixelMatrixRows = u32;
    DcmXfer xfer(dataset->getOriginalXfer());
    if (xfer.isEncapsulated()) {
        DcmPixelSequence *sequence = pixelSequence(dataset);
        summary->fragments = sequence ? (long)sequence->card() - 1 : 0;
    } else {
        summary->fragments = -1;
    }
    return 0;
}

extern "C" long dcmtk_read_frame(const char *path, long index, unsigned char *buffer, size_t capacity,
                                 char *error, size_t errorSize) {
    DcmFileFormat file;
    OFCondition status = file.loadFile(path);
    if (status.bad()) {
        std::snprintf(error, errorSize, "%s", status.text());
        return -1;
    }
    DcmPixelSequence *sequence = pixelSequence(file.getDataset());
    if (!sequence) {
        std::snprintf(error, errorSize, "no encapsulated pixel data");
        return -1;
    }
    DcmPixelItem *item = nullptr;
    // Item 0 is the Basic Offset Table; with one fragment per frame, frame i is item i + 1.
    if (sequence->getItem(item, (unsigned long)(index + 1)).bad() || item == nullptr) {
        std::snprintf(error, errorSize, "no fragment for frame %ld", index);
        return -1;
    }
    Uint8 *data = nullptr;
    if (item->getUint8Array(data).bad()) {
        std::snprintf(error, errorSize, "unreadable fragment");
        return -1;
    }
    size_t length = item->getLength();
    if (length > capacity) {
        std::snprintf(error, errorSize, "frame of %zu bytes does not fit", length);
        return -1;
    }
    if (length) std::memcpy(buffer, data, length);
    return (long)length;
}

namespace {
/// An SCU with the peer, timeouts and our AE title set, and DCMTK's logging quietened.
void configure(DcmSCU &scu, const char *host, int port, const char *calledAE, const char *callingAE, int timeoutSeconds) {
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    scu.setPeerHostName(host);
    scu.setPeerPort(OFstatic_cast(Uint16, port));
    scu.setPeerAETitle(calledAE);
    scu.setAETitle(callingAE);
    scu.setConnectionTimeout(timeoutSeconds);
    scu.setACSETimeout(OFstatic_cast(Uint32, timeoutSeconds));
    scu.setDIMSETimeout(OFstatic_cast(Uint32, timeoutSeconds));
    scu.setMaxReceivePDULength(ASC_DEFAULTMAXPDU);
}

OFList<OFString> uncompressed() {
    OFList<OFString> list;
    list.push_back(UID_LittleEndianExplicitTransferSyntax);
    list.push_back(UID_LittleEndianImplicitTransferSyntax);
    return list;
}

int associate(DcmSCU &scu, char *error, size_t errorSize) {
    OFCondition status = scu.initNetwork();
    if (status.good()) status = scu.negotiateAssociation();
    if (status.bad()) {
        std::snprintf(error, errorSize, "association failed: %s", status.text());
        return -1;
    }
    T_ASC_PresentationContextID echoID = scu.findPresentationContextID(UID_VerificationSOPClass, "");
    if (echoID == 0) {
        std::snprintf(error, errorSize, "the peer does not accept C-ECHO (Verification)");
        scu.releaseAssociation();
        return -1;
    }
    status = scu.sendECHORequest(echoID);
    if (status.bad()) {
        std::snprintf(error, errorSize, "C-ECHO failed: %s", status.text());
        scu.releaseAssociation();
        return -1;
    }
    return 0;
}
}

extern "C" int dcmtk_echo(const char *host, int port, const char *calledAE, const char *callingAE, int timeoutSeconds,
                          char *error, size_t errorSize) {
    DcmSCU scu;
    configure(scu, host, port, calledAE, callingAE, timeoutSeconds);
    scu.addPresentationContext(UID_VerificationSOPClass, uncompressed());
    if (associate(scu, error, errorSize) != 0) return -1;
    scu.releaseAssociation();
    return 0;
}

extern "C" int dcmtk_store(const char *host, int port, const char *calledAE, const char *callingAE, int timeoutSeconds,
                           const char *const *paths, long count, dcmtk_store_callback callback, void *context,
                           char *error, size_t errorSize) {
    std::vector<std::pair<std::string, std::string>> kinds(count);
    std::map<std::string, std::set<std::string>> contexts;
    for (long i = 0; i < count; i++) {
        DcmMetaInfo meta;
        OFString sop, syntax;
        if (meta.loadFile(paths[i]).good() && meta.findAndGetOFString(DCM_MediaStorageSOPClassUID, sop).good() &&
            meta.findAndGetOFString(DCM_TransferSyntaxUID, syntax).good()) {
            kinds[i] = {sop.c_str(), syntax.c_str()};
            contexts[sop.c_str()].insert(syntax.c_str());
        }
    }
    DcmSCU scu;
    configure(scu, host, port, calledAE, callingAE, timeoutSeconds);
    scu.addPresentationContext(UID_VerificationSOPClass, uncompressed());
    for (const auto &entry : contexts) {
        for (const auto &syntax : entry.second) {
            OFList<OFString> one;
            one.push_back(syntax.c_str());
            scu.addPresentationContext(entry.first.c_str(), one);
        }
    }
    if (associate(scu, error, errorSize) != 0) return -1;
    for (long i = 0; i < count; i++) {
        if (kinds[i].first.empty()) {
            callback(context, i, 0xFFFF, "not a readable DICOM Part 10 file");
            continue;
        }
        T_ASC_PresentationContextID id = scu.findPresentationContextID(kinds[i].first.c_str(), kinds[i].second.c_str());
        if (id == 0) {
            char message[300];
            std::snprintf(message, sizeof message, "the peer does not accept SOP class %s in transfer syntax %s",
                          kinds[i].first.c_str(), kinds[i].second.c_str());
            callback(context, i, 0xFFFF, message);
            continue;
        }
        Uint16 response = 0;
        OFCondition status = scu.sendSTORERequest(id, OFFilename(paths[i]), NULL, response);
        if (status.bad()) {
            std::snprintf(error, errorSize, "C-STORE of %s failed: %s", paths[i], status.text());
            scu.abortAssociation();
            return -1;
        }
        callback(context, i, response, NULL);
    }
    scu.releaseAssociation();
    return 0;
}
