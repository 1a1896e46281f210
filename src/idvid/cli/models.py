"""idvid convert, info and app: model files, where models load from, the web app."""

from __future__ import annotations

from pathlib import Path

from idvid.errors import ConfigError


def _convert_parser(sub) -> None:
    p = sub.add_parser("convert", help="turn FantasyID's research files (mesh pickle, DECA, FLAME) into plain arrays, once",
                       description="Convert the files FantasyID's 3D prior needs into safetensors/npz in --out, read "
                       "through loaders that admit only arrays: the release's assets/transform.pkl (FLAME's mesh "
                       "hierarchy), DECA's deca_model.tar and FLAME 2020's generic_model.pkl (their licences do "
                       "not allow shipping them). Use <FantasyID folder>/face_prior or $IDVID_FANTASYID_PRIOR as --out.")
    p.add_argument("--mesh-sampling", type=Path, metavar="PKL", help="the release's assets/transform.pkl")
    p.add_argument("--deca", type=Path, metavar="TAR", help="DECA's deca_model.tar (its coarse encoder is kept)")
    p.add_argument("--flame", type=Path, metavar="PKL", help="FLAME 2020's generic_model.pkl")
    p.add_argument("--out", type=Path, metavar="DIR", help="folder to write the converted files into (required)")
    p.add_argument("--overwrite", action="store_true", help="replace files already in --out")


def cmd_convert(args) -> None:
    from idvid.engines.fantasyid.convert import convert_face_prior

    if args.mesh_sampling is None and args.deca is None and args.flame is None:
        raise ConfigError("give what to convert: --mesh-sampling, or --deca with --flame")
    if (args.deca is None) != (args.flame is None):
        raise ConfigError("--deca and --flame go together: FantasyID's 3D prior needs both")
    if args.out is None:  # checked after what to convert: that is the first thing a user must say
        raise ConfigError("give --out DIR: the folder to write the converted files into")
    for line in convert_face_prior(args.out, args.mesh_sampling, args.deca, args.flame, args.overwrite):
        print(line)


def _info_and_app_parsers(sub) -> None:
    sub.add_parser("info", help="versions, device, presets and where each model loads from",
                   description="Print versions, the compute device, the model presets and where each resolves from.")
    app = sub.add_parser("app", help="the web app: every engine in a page, and as an API endpoint",
                         description="Serve the web app (Gradio). Local only by default; the same generation is "
                         "the API endpoint /generate (gradio_client).")
    app.add_argument("--host", default="127.0.0.1", help="address to serve on (default: %(default)s, this machine only)")
    app.add_argument("--port", type=int, default=7860)


def cmd_info(args) -> None:
    from idvid.info import describe

    print(describe())


def cmd_app(args) -> None:
    try:
        from idvid.app import serve
    except ImportError as err:
        raise ConfigError(f"the app needs gradio: pip install 'idvid[app]' ({err})") from None
    serve(args.host, args.port)


def add_parsers(sub) -> None:
    _convert_parser(sub)
    _info_and_app_parsers(sub)


COMMANDS = {"convert": cmd_convert, "info": cmd_info, "app": cmd_app}
