#!/usr/bin/env bash
# Builds a container image that restores a defrost image of an app, and starts it cold when it
# cannot (docs/containers.md). From scratch with buildah: this machine class can pull no base
# image, and copying the host's own binaries and the libraries `ldd` names takes seconds, where a
# debootstrap'd Debian rootfs takes minutes and a network; the container then runs the exact
# node, CRIU and glibc the host's tests ran.
#
#   build.sh --tag NAME --app DIR [options] -- COMMAND...
#
#   --tag NAME         the image to write (e.g. localhost/blog:1)
#   --app DIR          the app with its node_modules (e.g. from `pnpm deploy --prod`), copied to
#                      /app, the working directory
#   --checkpoint       also freeze the app: run COMMAND in a build container, warm it up, write a
#                      defrost image to /var/lib/defrost/image, and commit that container as NAME
#                      (the app's files written meanwhile, such as a database, go along)
#   --export DIR       with --checkpoint: also copy the defrost image to DIR (for `defrost push`:
#                      a container of the image built without --checkpoint restores it by REF)
#   --base-tag NAME    with --checkpoint: also commit the image as it was before the checkpoint
#                      (nothing baked in) as NAME: the one to run with DEFROST_IMAGE_REF
#   --env KEY=VALUE    environment of the image, at checkpoint time too (repeatable)
#   --node FILE        the node binary (default: the first `node` on PATH)
#   --defrost DIR      the defrost CLI as `pnpm deploy --prod` makes it (default: deployed from
#                      this repository's packages/cli, which must be built)
#
# COMMAND (e.g. node server.js) is the image's CMD: the cold start, and what --checkpoint freezes.
# Needs root, buildah, and for --checkpoint CRIU usable inside the build container (the capabilities
# are those of a checkpoint, wider than a restore's: see docs/containers.md). Storage and
# configuration come from buildah's own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF).
set -euo pipefail
readonly HERE=$(cd "$(dirname "$0")" && pwd)
readonly REPO=$(cd "$HERE/../../.." && pwd)

say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

tag= app= node= defrost= checkpoint=0 export_dir= base_tag=
envs=()
while (($#)); do
  case $1 in
    --tag) tag=${2:?--tag needs a name}; shift 2 ;;
    --app) app=${2:?--app needs a directory}; shift 2 ;;
    --node) node=${2:?--node needs a file}; shift 2 ;;
    --defrost) defrost=${2:?--defrost needs a directory}; shift 2 ;;
    --env) envs+=("${2:?--env needs KEY=VALUE}"); shift 2 ;;
    --checkpoint) checkpoint=1; shift ;;
    --base-tag) base_tag=${2:?--base-tag needs a name}; shift 2 ;;
    --export) export_dir=${2:?--export needs a directory}; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1 (see the top of $0)" ;;
  esac
done
(($#)) || die "no command after --: give the cold start, e.g. -- node server.js"
[[ -n $tag ]] || die "--tag is required"
[[ -d $app ]] || die "--app ${app:-?}: no such directory"
[[ -z $export_dir$base_tag || $checkpoint == 1 ]] || die "--export and --base-tag need --checkpoint"
[[ -z $export_dir || ! -e $export_dir ]] || die "--export $export_dir already exists"
[[ $(id -u) -eq 0 ]] || die "run as root (buildah's storage, and CRIU for --checkpoint)"
command -v buildah >/dev/null || die "buildah is missing: sudo bash scripts/install-container-tools.sh"
node=${node:-$(command -v node || true)}
[[ -x $node ]] || die "no node binary (put one on PATH or give --node FILE)"

work=$(mktemp -d "${TMPDIR:-/tmp}/defrost-build-image-XXXXXX")
ctr=
cleanup() {
  [[ -n $ctr ]] && buildah rm "$ctr" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z $defrost ]]; then
  [[ -x $REPO/packages/cli/dist/bin.js ]] || die "packages/cli is not built: pnpm build"
  say "deploying the defrost CLI (pnpm deploy --prod)"
  # Without the npm_* variables of a calling npm/npx/pnpm script: pnpm reads them as its config.
  # --offline --trust-lockfile: the packages come from the store that `pnpm install` filled from
  # this lockfile and verified against its supply-chain policies; verifying again needs the
  # registry, and once hung for minutes.
  (cd "$REPO" && for v in $(compgen -e | grep -i '^npm_'); do unset "$v"; done &&
    pnpm --filter defrost deploy --prod --offline --trust-lockfile "$work/defrost" >/dev/null </dev/null)
  defrost=$work/defrost
fi
[[ -f $defrost/bin/defrost && -f $defrost/dist/bin.js ]] || die "--defrost $defrost: no bin/defrost and dist/bin.js"

# The build container is also where --checkpoint runs: criu needs to suspend seccomp (no profile).
ctr=$(buildah from --security-opt seccomp=unconfined scratch)
root=$(buildah mount "$ctr")

# A file and, for each symlink on the way, the link too (ld.so names libraries by their soname links).
copy_path() {
  local path=$1 target
  while [[ -L $path ]]; do
    mkdir -p "$root$(dirname "$path")"
    cp -P "$path" "$root$path"
    target=$(readlink "$path")
    [[ $target == /* ]] || target=$(dirname "$path")/$target
    path=$target
  done
  mkdir -p "$root$(dirname "$path")"
  cp -p "$path" "$root$path"
}

# A program at the same path as on the host, and every library ldd names for it.
copy_program() {
  local program=$1 lib
  [[ -e $program ]] || die "$program is missing on this host (scripts/bootstrap.sh installs what the image needs)"
  copy_path "$program"
  for lib in $(ldd "$program" 2>/dev/null | grep -o '/[^ ]*'); do
    [[ -e $root$lib ]] || copy_path "$lib"
  done
}

# Debian's merged /usr: /bin, /sbin, /lib and /lib64 are links into /usr.
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc,tmp,run,proc,sys,dev,app,var/lib/defrost,var/cache,opt}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
chmod 1777 "$root/tmp"

say "copying node, criu, perl, util-linux and the libraries they load"
# node: the app and the CLI. criu: restores (and checkpoints). perl: the io_uring filter and the
# reaper. setpriv, unshare, mount, umount: the restore's namespace. sh, cp, mv, readlink, sleep:
# the restore's prelude and action script, bin/defrost, the checkpoint's stdio holder.
# catatonit: PID 1, which reaps orphans (Kubernetes has no --init).
for program in /usr/sbin/criu /usr/bin/perl /usr/bin/setpriv /usr/bin/unshare /usr/bin/mount \
  /usr/bin/umount /usr/bin/dash /usr/bin/cp /usr/bin/mv /usr/bin/rm /usr/bin/readlink \
  /usr/bin/sleep /usr/bin/cat /usr/bin/catatonit; do
  copy_program "$program"
done
ln -s dash "$root/usr/bin/sh"
# libcriu.so.2: @defrost/core in the app talks to `criu service` through it (checkpoints).
copy_program "$(ldconfig -p | awk '/libcriu\.so\.2 .*x86-64|libcriu\.so\.2 .*AArch64/ {print $NF; exit}')"
mkdir -p "$root/usr/local/bin"
cp -p "$(readlink -f "$node")" "$root/usr/local/bin/node"
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do [[ -e $root$lib ]] || copy_path "$lib"; done

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
mkdir -p "$root/root" && chmod 0700 "$root/root"

say "copying the defrost CLI and the app"
cp -a "$defrost" "$root/opt/defrost"
ln -s /opt/defrost/bin/defrost "$root/usr/local/bin/defrost"
install -m 0755 "$HERE/entrypoint.sh" "$root/usr/local/bin/defrost-entrypoint"
cp -a "$app/." "$root/app/"
buildah umount "$ctr" >/dev/null

config=(--workingdir /app --env PATH=/usr/local/bin:/usr/bin:/usr/sbin --env HOME=/root
  --env DEFROST_IMAGE=/var/lib/defrost/image
  --entrypoint '["/usr/bin/catatonit","--","/usr/local/bin/defrost-entrypoint"]'
  --label org.opencontainers.image.title=defrost-app)
for e in "${envs[@]}"; do config+=(--env "$e"); done
cmd=$(printf '%s\n' "$@" | "$node" -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8").split("\n").slice(0, -1)))')
buildah config "${config[@]}" --cmd "$cmd" "$ctr"

if ((checkpoint == 0)); then
  buildah commit --quiet "$ctr" "$tag" >/dev/null
  say "built $tag (no image baked in: it restores DEFROST_IMAGE_REF, else starts cold)"
  exit 0
fi

if [[ -n $base_tag ]]; then
  buildah commit --quiet "$ctr" "$base_tag" >/dev/null
  say "built $base_tag (no image baked in)"
fi
say "checkpointing the app in a build container (start, warm-up, freeze)"
# The capabilities of a checkpoint (docs/containers.md). The run's own environment variable is
# not kept: the committed image restores.
buildah run --network none --env DEFROST_CHECKPOINT=1 \
  --cap-add CAP_CHECKPOINT_RESTORE,CAP_SYS_PTRACE,CAP_SYS_ADMIN,CAP_SYS_TIME,CAP_NET_ADMIN \
  "$ctr" -- /usr/local/bin/defrost-entrypoint "$@" >&2
# Caches of the build container (its kernel features, file identities, launch plans) mean
# nothing in another container.
buildah run --network none "$ctr" -- /bin/sh -c 'rm -rf /var/cache/defrost /tmp/* /tmp/.[!.]*' 
if [[ -n $export_dir ]]; then
  root=$(buildah mount "$ctr")
  cp -a "$root/var/lib/defrost/image" "$export_dir"
  buildah umount "$ctr" >/dev/null
fi
buildah commit --quiet "$ctr" "$tag" >/dev/null
say "built $tag (restores /var/lib/defrost/image, else starts cold)"
