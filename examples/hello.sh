#!/bin/sh
# A first builder job: a few lines a second apart, and two artifacts.
# Every file the job leaves in its directory is kept with the result; a single file under bin/ is
# the build's main binary, which the web page shows with its SHA-256.
echo "hello from builder"
for step in 1 2 3; do
  echo "step $step of 3"
  sleep 1
done
mkdir -p bin
printf '#!/bin/sh\necho "hello, built by builder"\n' > bin/hello
chmod +x bin/hello
date -u > finished-at.txt
echo "wrote bin/hello (the main binary) and finished-at.txt"
