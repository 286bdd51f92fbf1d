#!/bin/sh
# A first builder job: a few lines a second apart, and one artifact.
# Jobs run with `sh -e` in a fresh directory; every file left there is kept with the result.
echo "hello from builder"
for step in 1 2 3; do
  echo "step $step of 3"
  sleep 1
done
date -u > finished-at.txt
echo "wrote finished-at.txt (kept as an artifact)"
