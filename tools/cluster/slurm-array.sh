#!/usr/bin/env bash
# A Slurm job array that converts an archive in 16 shards, no coordinator needed: each task takes the
# slides whose path hashes to its shard. Submit with: sbatch tools/cluster/slurm-array.sh
# Rerunning the array (or one task) resumes: slides already done with unchanged content are skipped.
#SBATCH --job-name=dicomizer
#SBATCH --array=1-16
#SBATCH --cpus-per-task=8
#SBATCH --mem=4G
#SBATCH --time=12:00:00
#SBATCH --output=dicomizer-%A-%a.log
set -euo pipefail
ARCHIVE=/data/slides          # inputs (shared storage)
OUTROOT=/data/dicom           # one folder per slide, one manifest per shard
dicomizer batch "$ARCHIVE" -o "$OUTROOT" \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  --jobs 2 --threads "${SLURM_CPUS_PER_TASK}" \
  --send "dicom://PACS@pacs.example.org:104"
