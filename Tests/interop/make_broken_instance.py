#!/usr/bin/env python3
"""Writes a copy of a DICOM WSI instance that Orthanc stores but no reader can index: a new SOP Instance
UID in the same series, and a Number of Frames its pixel data does not hold.

Usage: make_broken_instance.py SOURCE.dcm OUT.dcm
"""
import sys

import pydicom
from pydicom.uid import generate_uid

source, out = sys.argv[1:3]
ds = pydicom.dcmread(source)
ds.SOPInstanceUID = generate_uid()
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.NumberOfFrames = 999
ds.save_as(out)
