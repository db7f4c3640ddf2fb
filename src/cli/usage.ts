export const usage = `Usage: tsbuild [build] [OPTIONS] CONTEXT
       tsbuild COMMAND [ARGS]
CONTEXT is a directory, "-" for a tar (or just a Dockerfile) on stdin, a git URL (REPO.git#REF:SUBDIR) or an http(s) URL of a tar or a Dockerfile.

Build an image from a Dockerfile:
  -f, --file FILE            Name of the Dockerfile (default: CONTEXT/Dockerfile, "-" reads stdin)
  -t, --tag NAME             Name the result (repeatable)
      --platform LIST        Target platforms, e.g. linux/amd64,linux/arm64
      --build-arg K=V        Set a build-time variable (repeatable)
      --target STAGE         Build up to this stage
  -o, --output SPEC          type=oci|docker|local|tar|image|registry,...
      --push                 Shorthand for --output=type=registry
      --load                 Keep the image in tsbuild's image store (no docker daemon)
      --cache-from SPEC      External cache sources (repeatable)
      --cache-to SPEC        Cache export destinations (repeatable)
      --no-cache             Do not use the cache
      --no-cache-filter S    Do not use the cache for these stages
      --secret SPEC          id=ID,src=PATH or id=ID,env=VAR
      --ssh SPEC             default or ID=SOCKET|KEY
      --build-context N=SRC  Extra named context (dir, docker-image://, oci-layout://)
      --progress MODE        auto, tty, plain, rawjson, quiet, none
  -q, --quiet                Print only the image digest (--progress quiet)
      --metadata-file FILE   Write build result metadata as JSON
      --label K=V            Set image metadata (repeatable)
      --network MODE         default, none, host
      --allow ENT            network.host, security.insecure
      --add-host HOST:IP     Add an /etc/hosts entry to every RUN (repeatable)
      --shm-size SIZE        Size of /dev/shm in every RUN, e.g. 128m (default: 64m)
      --ulimit NAME=S[:H]    Resource limit of every RUN, e.g. nofile=1024:2048 (repeatable)
      --print=llb            Print the build graph instead of building
      --call=outline|targets|check
      --check                Run the Dockerfile checks without building (--call=check)
      --explain              After the build, say for every step whether it hit the cache and why not
      --max-parallelism N    Concurrent RUN steps (default: twice the CPUs)
      --pull                 Resolve base images at their registry, not the local store
      --iidfile FILE         Write the image ID to a file
      --provenance[=mode=min|max,…]
                             Attach SLSA provenance (off by default; --attest type=provenance,… too)
      --attest SPEC          type=provenance,… (repeatable; type=sbom only as disabled=true)
      --sbom=false           Accepted as buildx takes it (tsbuild makes no SBOMs)
      --annotation A         [TYPE][[PLATFORM]]:KEY=VALUE on image outputs (repeatable)
      --builder NAME         Accepted and not used (tsbuild is its own builder)

Commands:
  build       Build an image (the default command)
  images      List stored images
  inspect     Show an image's manifest and config
  pull        Pull an image into the store
  push        Push a stored image to a registry
  save        Write a stored image to a tarball
  rmi         Remove a stored image
  tag         Name a stored image again
  doctor      Check runc, overlayfs, binfmt platforms and the state dir
  du          Show disk usage
  prune       Remove cache
  history     Past builds: ls, inspect, logs
  imagetools  Registry images: create (join platforms into one index), inspect
  debug       dump-ast [FILE|-]
  version     Print the version
`
