#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
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
