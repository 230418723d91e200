#!/bin/sh
# Regenerate this folder from the Cambridge Estates subset (see README.md).
# Usage: sh convert.sh /path/to/cambridge-estates
set -eu
src=${1:-/work/shared/data/cambridge-estates}
for b in b22 b27; do
  { echo start,value
    zcat "$src/${b}_hourly.csv.gz" | awk -F, 'NR > 1 && $1 >= "2019-05-01" && $1 < "2019-12-01" {
        sub(" ", "T", $1); print $1 "Z," $2 }'
  } | gzip -n -9 > "${b}_electricity_2019-05_2019-11.csv.gz"
done
{ echo dt,tempC
  zcat "$src/weather_bedford_hourly.csv.gz" | awk -F, 'NR > 1 && $1 >= "2019-05-01" && $1 < "2019-12-01" {
      sub(" ", "T", $1); print $1 "Z," $2 }'
} | gzip -n -9 > bedford_tempC_2019-05_2019-11.csv.gz
