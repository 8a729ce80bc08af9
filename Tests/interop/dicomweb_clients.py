#!/usr/bin/env python3
"""Our DICOMweb routes read by the real, unmodified clients from PyPI: wsidicom's WsiDicomWebClient
(WsiDicom.open_web), large_image's DICOM source, and dicomweb-client.

  dicomweb_clients.py prepare SERVED OUT   copy the fixture's ours, ours-j2k and wsidicomizer folders to
                                           OUT with distinct PatientID, AccessionNumber and StudyDate per
                                           study (the converters leave them empty), so that each search
                                           filter has something to narrow
  dicomweb_clients.py check URL OUT        run every check against the server at URL (.../dicomweb)
                                           serving OUT; prints each failure, exits 1 on any

Pixels read over DICOMweb must be identical to the same library reading the folder.
"""
import glob
import io
import os
import shutil
import sys

import numpy as np
import pydicom
import requests
from PIL import Image

VL_WSI = "1.2.840.10008.5.1.4.1.1.77.1.6"
# Folder -> (PatientID, AccessionNumber, StudyDate): three studies, dates far enough apart for ranges.
STUDIES = {
    "ours": ("PAT-A", "ACC-A", "20230301"),
    "wsidicomizer": ("PAT-B", "ACC-B", "20250101"),
    "ours-j2k": ("PAT-C", "ACC-C", "20240610"),
}

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return condition


def prepare(served, out):
    for folder, (patient, accession, date) in STUDIES.items():
        target = os.path.join(out, folder)
        os.makedirs(target, exist_ok=True)
        for path in glob.glob(os.path.join(served, folder, "*.dcm")):
            ds = pydicom.dcmread(path)
            ds.PatientID = patient
            ds.AccessionNumber = accession
            ds.StudyDate = date
            ds.save_as(os.path.join(target, os.path.basename(path)), enforce_file_format=True)


class Local:
    """One prepared folder read with pydicom: its UIDs and instances."""

    def __init__(self, root, folder):
        self.folder = os.path.join(root, folder)
        self.datasets = {}
        for path in sorted(glob.glob(os.path.join(self.folder, "*.dcm"))):
            ds = pydicom.dcmread(path)
            self.datasets[ds.SOPInstanceUID] = ds
        first = next(iter(self.datasets.values()))
        self.study = first.StudyInstanceUID
        self.series = first.SeriesInstanceUID

    def by_type(self, kind):
        """Instances whose ImageType's third value is kind (VOLUME, LABEL, ...), largest first."""
        found = [ds for ds in self.datasets.values() if len(ds.ImageType) > 2 and ds.ImageType[2] == kind]
        return sorted(found, key=lambda ds: -int(ds.get("TotalPixelMatrixColumns", ds.Columns)))

    @staticmethod
    def frame(ds, index):
        frames = pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1)))
        for i, frame in enumerate(frames):
            if i == index:
                return frame
        raise IndexError(index)


def pixels(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)


def same(a, b):
    return np.asarray(a).shape == np.asarray(b).shape and np.array_equal(np.asarray(a), np.asarray(b))


def check_wsidicom(url, local, name):
    from dicomweb_client.api import DICOMwebClient
    from wsidicom import WsiDicom, WsiDicomWebClient

    web_client = WsiDicomWebClient(DICOMwebClient(url=url))
    with WsiDicom.open_web(web_client, local.study, local.series) as web, WsiDicom.open(local.folder) as disk:
        check(len(web.levels) == len(disk.levels), f"{name}: wsidicom sees {len(web.levels)} levels over DICOMweb, {len(disk.levels)} on disk")
        for index in (0, 1):
            level = list(disk.levels)[index]
            size = level.size.to_tuple()
            a = web.read_region((0, 0), level.level, size)
            b = disk.read_region((0, 0), level.level, size)
            check(same(a, b), f"{name}: wsidicom level {index} over DICOMweb differs from the folder")
        thumbnail = local.by_type("THUMBNAIL")
        if check(bool(thumbnail), f"{name}: no thumbnail instance"):
            size = (int(thumbnail[0].TotalPixelMatrixColumns), int(thumbnail[0].TotalPixelMatrixRows))
            check(same(web.read_thumbnail(size), disk.read_thumbnail(size)), f"{name}: wsidicom thumbnail differs")
        check(same(web.read_label(), disk.read_label()), f"{name}: wsidicom label differs")


def check_large_image(url, local, name):
    import large_image_source_dicom

    web = large_image_source_dicom.open({"url": url, "study_uid": local.study, "series_uid": local.series})
    disk = large_image_source_dicom.open(os.path.join(local.folder, sorted(os.listdir(local.folder))[0]))
    wm, dm = web.getMetadata(), disk.getMetadata()
    check((wm["sizeX"], wm["sizeY"], wm["levels"]) == (dm["sizeX"], dm["sizeY"], dm["levels"]),
          f"{name}: large_image metadata over DICOMweb {wm} differs from {dm}")
    for z in (wm["levels"] - 1, wm["levels"] - 2):
        a = web.getTile(0, 0, z, numpyAllowed="always")
        b = disk.getTile(0, 0, z, numpyAllowed="always")
        check(same(a, b), f"{name}: large_image tile (0, 0, {z}) differs")
    internal = web.getInternalMetadata() or {}
    check(bool(internal.get("dicom_meta")), f"{name}: large_image read no DICOM metadata over DICOMweb: {list(internal)}")


def uids(results, tag):
    return sorted(r[tag]["Value"][0] for r in results)


def check_searches(url, client, locals_):
    from requests import HTTPError

    a, b, c = locals_["ours"], locals_["wsidicomizer"], locals_["ours-j2k"]
    every = sorted(x.study for x in (a, b, c))

    def studies(**filters):
        return uids(client.search_for_studies(search_filters=filters), "0020000D")

    check(studies() == every, f"all studies: {studies()}")
    check(studies(StudyInstanceUID=a.study) == [a.study], "StudyInstanceUID narrows to one study")
    check(studies(PatientID="PAT-B") == [b.study], "PatientID narrows to one study")
    check(studies(PatientID="PAT-*") == every, "PatientID wildcard matches all")
    check(studies(AccessionNumber="ACC-C") == [c.study], "AccessionNumber narrows to one study")
    check(studies(StudyDate="20230301") == [a.study], "StudyDate single date")
    check(studies(StudyDate="20240101-20241231") == [c.study], "StudyDate range a-b")
    check(studies(StudyDate="20240101-") == sorted([b.study, c.study]), "StudyDate range a-")
    check(studies(StudyDate="-20240101") == [a.study], "StudyDate range -b")
    check(studies(ModalitiesInStudy="SM") == every, "ModalitiesInStudy")
    check(studies(**{"00100020": "PAT-A"}) == [a.study], "PatientID by tag")

    series = lambda **f: uids(client.search_for_series(search_filters=f), "0020000E")
    check(uids(client.search_for_series(a.study), "0020000E") == [a.series], "series of one study")
    check(series(SeriesInstanceUID=f"{a.series},{b.series}") == sorted([a.series, b.series]), "UID list with commas")
    check(series(SeriesInstanceUID=f"{a.series}\\{c.series}") == sorted([a.series, c.series]), "UID list with backslashes")
    check(len(series(**{"00080060": "SM"})) == 3, "Modality by tag")
    check(series(Modality="CT") == [], "Modality CT matches nothing")

    instances = client.search_for_instances(a.study, a.series)
    check(uids(instances, "00080018") == sorted(a.datasets), "instances of a series")
    wsi = [uid for uid, ds in a.datasets.items() if ds.SOPClassUID == VL_WSI]
    check(uids(client.search_for_instances(a.study, search_filters={"SOPClassUID": VL_WSI}), "00080018") == sorted(wsi), "SOPClassUID")
    one = sorted(a.datasets)[0]
    check(uids(client.search_for_instances(search_filters={"SOPInstanceUID": one}), "00080018") == [one], "SOPInstanceUID across studies")
    every_instance = client.search_for_instances(a.study)
    page = client.search_for_instances(a.study, limit=2, offset=1)
    check([r["00080018"] for r in page] == [r["00080018"] for r in every_instance[1:3]], "limit and offset")
    with_syntax = client.search_for_instances(c.study, fields=["AvailableTransferSyntaxUID"])
    check(all("1.2.840.10008.1.2.4.91" in r.get("00083002", {}).get("Value", []) for r in with_syntax),
          "includefield=AvailableTransferSyntaxUID names the stored JPEG 2000 syntax")
    everything = client.search_for_instances(a.study, a.series, fields=["all"])
    check(all("00480006" in r and "00280010" in r for r in everything), "includefield=all")

    # The exact first request of wsidicom 0.36's open_web.
    response = requests.get(f"{url}/studies/{a.study}/instances?00080016={VL_WSI}&00080060=SM&0020000E={a.series}"
                            "&includefield=AvailableTransferSyntaxUID")
    found = response.json() if response.status_code == 200 else []
    check(uids(found, "00080018") == sorted(wsi) and all("00083002" in r for r in found),
          f"wsidicom's instance search: {response.status_code}")

    for query in ("Nonsense=1", "PatientWeight=70", "StudyDate=2023", "limit=-1", "includefield=NoSuchKeyword"):
        response = requests.get(f"{url}/studies?{query}")
        check(response.status_code == 400 and "message" in response.text, f"?{query} gave {response.status_code}, not 400")
    try:
        client.search_for_studies(search_filters={"SOPInstanceUID": one})
        check(False, "an instance attribute in a study search was accepted")
    except HTTPError as error:
        check(error.response.status_code == 400, "an instance attribute in a study search: 400")


def check_metadata_and_retrieval(url, client, locals_):
    from requests import HTTPError

    a, c = locals_["ours"], locals_["ours-j2k"]
    check(len(client.retrieve_study_metadata(a.study)) == len(a.datasets), "study metadata")
    # ICC profiles: inline in the metadata (InlineBinary), so pydicom's from_json gives the bytes; the
    # bulkdata route, which large values are pointed to, answers the same element too.
    profiles = 0
    for item in client.retrieve_series_metadata(a.study, a.series):
        sop = item["00080018"]["Value"][0]
        ds = a.datasets[sop]
        if "OpticalPathSequence" not in ds or "ICCProfile" not in ds.OpticalPathSequence[0]:
            continue
        expected = bytes(ds.OpticalPathSequence[0].ICCProfile)
        parsed = pydicom.Dataset.from_json(item)
        check(bytes(parsed.OpticalPathSequence[0].ICCProfile) == expected, "ICC profile in the metadata differs")
        bulk = client.retrieve_bulkdata(f"{url}/studies/{a.study}/series/{a.series}/instances/{sop}/bulkdata/00480105/0/00282000")
        check(bulk == [expected], "ICC profile from the bulkdata route differs")
        profiles += 1
    check(profiles > 0, "no instance with an ICC profile")

    # Rendered: label as PNG and JPEG, a frame as PNG.
    label = a.by_type("LABEL")[0]
    stored = pixels(Local.frame(label, 0))
    png = client.retrieve_instance_rendered(a.study, a.series, label.SOPInstanceUID, media_types=("image/png",))
    check(png[:8] == b"\x89PNG\r\n\x1a\n", "rendered label is not PNG")
    check(pixels(png).shape == stored.shape and np.abs(pixels(png) - stored).mean() < 2, "rendered PNG label differs")
    jpeg = client.retrieve_instance_rendered(a.study, a.series, label.SOPInstanceUID)
    check(jpeg[:2] == b"\xff\xd8", "rendered label is not JPEG by default")
    level0 = a.by_type("VOLUME")[0]
    framepng = client.retrieve_instance_frames_rendered(a.study, a.series, level0.SOPInstanceUID, [2], media_types=("image/png",))
    check(np.abs(pixels(framepng) - pixels(Local.frame(level0, 1))).mean() < 2, "rendered frame differs")

    # Frames of the JPEG 2000 slide: stored, transcoded to JPEG, uncompressed.
    j2k = c.by_type("VOLUME")[0]
    sop, rows, cols = j2k.SOPInstanceUID, int(j2k.Rows), int(j2k.Columns)
    reference = [pixels(Local.frame(j2k, i)) for i in (0, 1)]
    frames = client.retrieve_instance_frames(c.study, c.series, sop, [1, 2], media_types=(("image/jp2", "1.2.840.10008.1.2.4.91"),))
    check(frames == [Local.frame(j2k, 0), Local.frame(j2k, 1)], "stored JPEG 2000 frames differ")
    frames = client.retrieve_instance_frames(c.study, c.series, sop, [1, 2], media_types=("image/jpeg",))
    check(all(f[:2] == b"\xff\xd8" for f in frames), "JPEG 2000 frames asked as image/jpeg are not JPEG")
    check(all(np.abs(pixels(f) - r).mean() < 3 for f, r in zip(frames, reference)), "transcoded JPEG frames differ")
    frames = client.retrieve_instance_frames(c.study, c.series, sop, [1], media_types=(("application/octet-stream", "1.2.840.10008.1.2.1"),))
    raw = np.frombuffer(frames[0], dtype=np.uint8).astype(np.int16)
    check(raw.size == rows * cols * 3 and np.abs(raw.reshape(rows, cols, 3) - reference[0]).max() <= 1, "uncompressed frame differs")
    try:
        client.retrieve_instance_frames(a.study, a.series, level0.SOPInstanceUID, [1], media_types=("image/jp2",))
        check(False, "JPEG frames asked as image/jp2 were not refused")
    except HTTPError as error:
        check(error.response.status_code == 406, f"JPEG frames asked as image/jp2: {error.response.status_code}, not 406")

    base = f"{url}/studies/{c.study}/series/{c.series}/instances/{sop}/frames/1"
    single = requests.get(base, headers={"Accept": "image/jpeg"})
    check(single.headers.get("Content-Type") == "image/jpeg" and single.content[:2] == b"\xff\xd8", "single-part image/jpeg frame")
    single = requests.get(base, headers={"Accept": "image/png"})
    check(single.headers.get("Content-Type") == "image/png" and same(pixels(single.content), reference[0]), "single-part PNG frame is not lossless")
    refused = requests.get(base, headers={"Accept": 'multipart/related; type="image/*", multipart/related; type="image/jp2"; q=0'})
    check('type="image/jpeg"' in refused.headers.get("Content-Type", ""), f"q=0 on image/jp2 not honoured: {refused.headers.get('Content-Type')}")
    check(requests.get(base, headers={"Accept": "image/jp2;q=0"}).status_code == 406, "only q=0 ranges: 406")

    # Whole instances and series, as stored.
    instance = client.retrieve_instance(a.study, a.series, level0.SOPInstanceUID)
    check(instance.SOPInstanceUID == level0.SOPInstanceUID and instance.PixelData == level0.PixelData, "retrieved instance differs")
    check(len(client.retrieve_series(a.study, a.series)) == len(a.datasets), "retrieved series")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) != 4 or sys.argv[1] != "check":
        print(__doc__)
        return 2
    from dicomweb_client.api import DICOMwebClient

    url, root = sys.argv[2].rstrip("/"), sys.argv[3]
    locals_ = {folder: Local(root, folder) for folder in STUDIES}
    client = DICOMwebClient(url=url)
    steps = [
        ("searches", lambda: check_searches(url, client, locals_)),
        ("metadata and retrieval", lambda: check_metadata_and_retrieval(url, client, locals_)),
        ("wsidicom JPEG", lambda: check_wsidicom(url, locals_["ours"], "ours")),
        ("wsidicom JPEG 2000", lambda: check_wsidicom(url, locals_["ours-j2k"], "ours-j2k")),
        ("large_image", lambda: check_large_image(url, locals_["ours"], "ours")),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as error:  # a client's exception is a failure of that step, not the end of the run
            import traceback
            traceback.print_exc()
            check(False, f"{name}: {type(error).__name__}: {error}")
        print(f"{name}: done", flush=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
