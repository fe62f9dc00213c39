#!/bin/sh
# The container's entrypoint (after catatonit, its PID 1): restore the app, or start it cold.
# The command (the image's CMD, e.g. `node server.js`) is the cold start.
#
#   DEFROST_IMAGE_REF=host:5000/team/app:1   restore that image from a registry: pulled, verified,
#                                            cached by digest in /var/cache/defrost
#   DEFROST_IMAGE=/var/lib/defrost/image     else this directory (the image baked in at build time)
#   DEFROST_RESTORE_ARGS="--copies 2 ..."    more `defrost restore` options (split on spaces)
#   DEFROST_APP_CAPS="net_bind_service"      capabilities the app keeps (default: none)
#   DEFROST_CHECKPOINT=1                     build time only: start cold, warm up, freeze into
#                                            $DEFROST_IMAGE and exit (image/build.sh --checkpoint)
#
# Whatever goes wrong with the image (missing, refused, CRIU fails), `--fallback` starts the
# command cold, under the same seccomp filter as the frozen copy, and says why on stderr.
set -eu
image=${DEFROST_IMAGE:-/var/lib/defrost/image}

# The app runs without capabilities, cold or frozen. The container's extra capabilities are for
# CRIU; a frozen process keeps the capability sets it had, and CRIU can only restore sets that
# the restoring container holds, so an app frozen with CRIU's capabilities could only be
# restored where they are granted again, and would run with them.
bounding=-all
IFS=', '
for cap in ${DEFROST_APP_CAPS:-}; do bounding="$bounding,+$cap"; done
unset IFS
set -- setpriv --bounding-set="$bounding" --inh-caps=-all -- "$@"

if [ "${DEFROST_CHECKPOINT:-}" = 1 ]; then
  exec defrost checkpoint --image "$image" --force -- "$@"
fi
# shellcheck disable=SC2086 # word splitting of the extra options is the point
exec defrost restore "${DEFROST_IMAGE_REF:-$image}" ${DEFROST_RESTORE_ARGS:-} --fallback -- "$@"
