"""The ``shoprec`` command: try shoprec on a demo shop, build a shop from files, ask it.

Exit codes: 0 success, 1 an error (a message on stderr, no traceback unless ``--verbose``),
2 a usage error (as argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO

__all__ = ["main"]

logger = logging.getLogger("shoprec.cli")

EXAMPLES = """\
examples:
  shoprec demo                                  build the demo shop and show what it does
  shoprec demo --out demo-shop                  ... and keep it in ./demo-shop
  shoprec build --products products.csv --events events.csv --out my-shop
  shoprec build --movielens ml-latest-small/ --out movies
  shoprec recommend my-shop u00042              products for a shopper (with explanations)
  shoprec recommend my-shop u00042 --coupons    coupons and services for a shopper
  shoprec similar my-shop p00017
  shoprec search my-shop "无线耳机" --user u00042
  shoprec search my-shop "running shoes" --category running-shoes --max-price 500
  shoprec evaluate my-shop
  shoprec serve my-shop --port 8000             the Flask example shop, for trying it out

files: products.csv needs an id and a title column (and optionally description, category,
brand, price, stock, in_stock); events.csv needs user, item, event (view, cart, purchase,
favorite) and timestamp columns (rename with --user-column etc.).
"""


class UsageError(Exception):
    """A wrong command line that argparse cannot see (exit code 2)."""


# ------------------------------------------------------------------------------ output
def _print(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")


def _json(out: TextIO, value: Any) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=1, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _rows(out: TextIO, rows: List[Dict[str, Any]], columns: Sequence[str]) -> None:
    for i, row in enumerate(rows, 1):
        parts = [f"{row.get(c)}" for c in columns if row.get(c) is not None]
        _print(out, f"  {i:>2}. " + "  ".join(parts))


def _answer(shop: Any, answer: Any) -> Dict[str, Any]:
    return shop.as_dict(answer)


def _why(answer: Any) -> str:
    return answer.part + (f", fallback: {answer.reason}" if answer.reason else "")


# ------------------------------------------------------------------------------ commands
def _load(directory: str) -> Any:
    from .shop import Shop

    if not Path(directory).exists():
        raise UsageError(f"no shop at {directory!r}: build one with `shoprec build ... --out {directory}`")
    return Shop.load(directory)


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from .datasets import demo_shop
    from .shop import Shop

    started = time.perf_counter()
    data = demo_shop(n_users=args.users, n_products=args.products, seed=args.seed)
    _print(out, f"Demo shop: {data}")
    shop = Shop.build(data.products, data.events, sales=data.sales, coupons=data.coupons,
                      redemptions=data.redemptions, config={"seed": args.seed}, progress=not args.quiet)
    build = shop.reports["build"]
    _print(out, f"Built in {build['seconds']:.1f} s: {build['products']} products, {build['shoppers']} shoppers, "
                f"{build['interactions']} interactions, {build['segments']} segments")
    _print(out, "\nCleaning:")
    for report in shop.reports["cleaning"]:
        removed = ", ".join(f"{n} {why}" for why, n in report["removed"].items())
        changed = ", ".join(f"{n} {why}" for why, n in report["changed"].items())
        _print(out, f"  {report['step']}: {report['n_in']} in" + (f"; removed {removed}" if removed else "")
               + (f"; changed {changed}" if changed else ""))

    users = [u for u in data.tastes["user"].unique()[:2]]
    for user in users:
        tastes = ", ".join(data.tastes.loc[data.tastes["user"] == user, "category"])
        answer = shop.recommend(user, 5)
        _print(out, f"\nRecommended for {user} (likes {tastes}; segment {shop.segment_of(user)}; "
                    f"{_why(answer)}):")
        for row in shop.describe(answer):
            why = shop.explain(user, row["id"])
            _print(out, f"  {row['title']}  ¥{row['price']}  <- {why['text']}")
    answer = shop.recommend("a-new-visitor", 3)
    _print(out, f"\nA new visitor gets ({_why(answer)}):")
    _rows(out, shop.describe(answer), ("title", "score"))

    item = shop.recommend(users[0], 1).items[0]
    _print(out, f"\nSimilar to {shop.product(item)['title']}:")
    _rows(out, shop.describe(shop.similar(item, 5)), ("title", "score"))

    coupons = shop.recommend(users[0], 3, catalogue="coupons")
    _print(out, f"\nCoupons and services for {users[0]} ({_why(coupons)}):")
    _rows(out, shop.describe(coupons), ("title",))

    if shop.has_search:
        for query in ("无线耳机", "running shoes"):
            results = shop.search(query, user=users[0], k=5, facets=["category", "brand"])
            _print(out, f"\nSearch {query!r} for {users[0]}: {results.total} matches"
                        + (f", expanded with {[w for w, _ in results.expansions][:4]}" if results.expansions else ""))
            _rows(out, shop.describe(results), ("title", "price"))
            brands = list(results.facets.get("brand", {}).items())[:5]
            if brands:
                _print(out, "  brands: " + ", ".join(f"{b} ({n})" for b, n in brands))
    else:
        _print(out, "\nSearch: not available in this build of shoprec (the search extension is not installed).")

    _print(out, "\nInterest segments:")
    for segment in range(shop.n_segments):
        description = shop.describe_segment(segment, 3)
        attributes = ", ".join(a for a, _, _ in description.top_attributes)
        _print(out, f"  segment {segment}: {description.size} shoppers ({100 * description.share:.0f}%): {attributes}")

    restock = shop.restock_report(days=3)
    _print(out, f"\nRestock within 3 days: {len(restock)} products, e.g.")
    _rows(out, restock[:3], ("title", "stock", "daily_sales", "days_left"))

    _evaluation(out, shop.evaluate())
    if args.out:
        shop.save(args.out)
        _print(out, f"\nSaved to {args.out}/ (try: shoprec recommend {args.out} {users[0]})")
    _print(out, f"\nDone in {time.perf_counter() - started:.1f} s.")
    return 0


def _evaluation(out: TextIO, report: Dict[str, Any]) -> None:
    _print(out, f"\nEvaluation ({report['protocol']}; {report['test']} held out):")
    for name, metrics in report.get("models", {}).items():
        keys = [key for key in metrics if "@" in key and key.split("@")[0] in ("recall", "ndcg", "coverage")]
        _print(out, f"  {name:<45} " + "  ".join(f"{key} {metrics[key]:.3f}" for key in keys))


def _read_table(path: str, what: str) -> Any:
    import pandas as pd

    if not Path(path).is_file():
        raise UsageError(f"--{what}: no such file {path!r}")
    try:
        if path.endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        from .errors import InvalidArgumentError

        raise InvalidArgumentError(f"--{what}: cannot read {path!r} as a table: {exc}") from None


def cmd_build(args: argparse.Namespace, out: TextIO) -> int:
    import pandas as pd

    from .datasets import load_events_csv, load_movielens
    from .shop import Shop

    config: Dict[str, Any] = {}
    if args.config:
        try:
            config = json.loads(Path(args.config).read_text(encoding="utf-8")) if Path(args.config).is_file() \
                else json.loads(args.config)
        except ValueError as exc:
            raise UsageError(f"--config is neither a JSON file nor JSON: {exc}") from None
    if args.movielens:
        if args.products or args.events:
            raise UsageError("give --movielens or --products/--events, not both")
        ml = load_movielens(args.movielens)
        if ml.movies is None:
            raise UsageError(f"{args.movielens}: no movie file (u.item or movies.csv) next to the ratings")
        products, events = ml.movies, ml.ratings
        config = {"event": None, "rating": "rating", "dedupe_window": None, **config}
    else:
        if not args.products or not args.events:
            raise UsageError("build needs --products and --events (or --movielens)")
        products = _read_table(args.products, "products")
        frames = [load_events_csv(path, user=args.user_column, item=args.item_column, event=args.event_column,
                                  timestamp=args.timestamp_column) for path in args.events]
        events = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        if "id" in products.columns and events["item"].map(type).eq(str).all():
            products["id"] = products["id"].astype(str)
    extras = {name: _read_table(getattr(args, name), name) for name in ("sales", "coupons", "redemptions")
              if getattr(args, name)}
    if "coupons" in extras and "user" in extras.get("redemptions", {}):
        extras["redemptions"]["user"] = extras["redemptions"]["user"].astype(str)
    shop = Shop.build(products, events, config=config, progress=not args.quiet, **extras)
    shop.save(args.out)
    build = shop.reports["build"]
    _print(out, f"Built {args.out}: {build['products']} products, {build['shoppers']} shoppers, "
                f"{build['interactions']} interactions in {build['seconds']:.1f} s "
                f"(search {'on' if build['search'] else 'off'}, keywords {'on' if build['keywords'] else 'off'})")
    return 0


def cmd_recommend(args: argparse.Namespace, out: TextIO) -> int:
    shop = _load(args.shop)
    catalogue = "coupons" if args.coupons else "products"
    user = shop.user_id(args.user)
    answer = shop.recommend(user, args.k, catalogue=catalogue, include_out_of_stock=args.include_out_of_stock)
    result = _answer(shop, answer)
    if not args.coupons:
        for row in result["items"]:
            row["why"] = shop.explain(user, row["id"])["text"]
    if args.json:
        _json(out, result)
        return 0
    _print(out, f"For {args.user}: {_why(answer)}")
    _rows(out, result["items"], ("id", "title", "price", "why"))
    return 0


def cmd_similar(args: argparse.Namespace, out: TextIO) -> int:
    shop = _load(args.shop)
    item = shop.item_id(args.item)
    answer = shop.similar(item, args.k)
    if args.json:
        _json(out, _answer(shop, answer))
        return 0
    _print(out, f"Similar to {shop.product(item)['title']} ({_why(answer)}):")
    _rows(out, shop.describe(answer), ("id", "title", "score"))
    return 0


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    shop = _load(args.shop)
    filters: Dict[str, Any] = {}
    if args.category:
        filters["category"] = args.category
    if args.max_price is not None:
        filters["price"] = (None, args.max_price)
    user = None if args.user is None else shop.user_id(args.user)
    results = shop.search(args.query, user=user, k=args.k, filters=filters or None, facets=["category", "brand"])
    result = _answer(shop, results)
    if args.json:
        _json(out, result)
        return 0
    _print(out, f"{results.total} matches for {args.query!r}" + (f" (fallback: {results.fallback})" if results.fallback else ""))
    _rows(out, result["items"], ("id", "title", "price", "score"))
    for facet, counts in results.facets.items():
        _print(out, f"  {facet}: " + ", ".join(f"{v} ({n})" for v, n in list(counts.items())[:8]))
    return 0


def cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    shop = _load(args.shop)
    report = shop.evaluate()
    if args.json:
        _json(out, report)
    else:
        _evaluation(out, report)
    return 0


def _flask_app_module() -> Any:
    """The Flask example (examples/flask_shop): installed, or found in a source checkout."""
    candidates = [os.environ.get("SHOPREC_FLASK_EXAMPLE"), os.path.join(os.getcwd(), "examples", "flask_shop"),
                  str(Path(__file__).resolve().parents[2] / "examples" / "flask_shop")]
    for folder in candidates:
        if folder and (Path(folder) / "flask_shop" / "__init__.py").is_file():
            if folder not in sys.path:
                sys.path.insert(0, folder)
            break
    try:
        import flask_shop
    except ImportError as exc:
        raise UsageError("shoprec serve runs the Flask example shop (examples/flask_shop in the source "
                         f"checkout; pip install flask, and run from the checkout or set SHOPREC_FLASK_EXAMPLE): {exc}") from None
    return flask_shop


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    _load(args.shop)  # a clear error before starting a server
    app = _flask_app_module().create_app({"SHOP_DIR": args.shop})
    _print(out, f"Serving {args.shop} on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    app.run(host=args.host, port=args.port, threaded=True)
    return 0


# ------------------------------------------------------------------------------ parser
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a price: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"a price is >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shoprec", description="Recommendations, search and query expansion for an online shop.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")
    common.add_argument("-v", "--verbose", action="store_true", help="log every step (and tracebacks)")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True

    p = sub.add_parser("demo", parents=[common], help="build a demo shop and show what shoprec does",
                       epilog="example: shoprec demo --users 500 --products 1000", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=_positive_int, default=2000)
    p.add_argument("--products", type=_positive_int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also save the demo shop in this directory")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("build", parents=[common], help="build a shop from product and event files",
                       epilog="example: shoprec build --products products.csv --events events.csv --out my-shop",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--products", help="products CSV (or .parquet): id, title, ...")
    p.add_argument("--events", action="append", help="events CSV: user, item, event, timestamp (repeat it "
                   "to add files, e.g. the events a web shop recorded since the last build)")
    p.add_argument("--movielens", help="a MovieLens folder instead of --products/--events")
    p.add_argument("--sales", help="daily sales CSV: item, date, units (for restock reports)")
    p.add_argument("--coupons", help="coupons CSV: id, title, category")
    p.add_argument("--redemptions", help="redemptions CSV: user, coupon")
    p.add_argument("--config", help="ShopConfig fields as JSON, or a JSON file")
    p.add_argument("--user-column", default="user")
    p.add_argument("--item-column", default="item")
    p.add_argument("--event-column", default="event")
    p.add_argument("--timestamp-column", default="timestamp")
    p.add_argument("--out", required=True, help="the shop directory to write (replaced atomically)")
    p.set_defaults(run=cmd_build)

    p = sub.add_parser("recommend", parents=[common], help="recommendations for a shopper",
                       epilog="example: shoprec recommend my-shop u00042 -k 5")
    p.add_argument("shop")
    p.add_argument("user")
    p.add_argument("-k", type=_positive_int, default=10)
    p.add_argument("--coupons", action="store_true", help="recommend coupons and services instead")
    p.add_argument("--include-out-of-stock", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_recommend)

    p = sub.add_parser("similar", parents=[common], help="products similar to a product",
                       epilog="example: shoprec similar my-shop p00017")
    p.add_argument("shop")
    p.add_argument("item")
    p.add_argument("-k", type=_positive_int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_similar)

    p = sub.add_parser("search", parents=[common], help="search the products",
                       epilog='example: shoprec search my-shop "无线耳机" --user u00042 --max-price 500')
    p.add_argument("shop")
    p.add_argument("query")
    p.add_argument("--user")
    p.add_argument("-k", type=_positive_int, default=10)
    p.add_argument("--category")
    p.add_argument("--max-price", type=_price)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("evaluate", parents=[common], help="the held-out evaluation of a built shop",
                       epilog="example: shoprec evaluate my-shop --json")
    p.add_argument("shop")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("serve", parents=[common], help="serve a shop with the Flask example app",
                       epilog="example: shoprec serve my-shop --port 8000")
    p.add_argument("shop")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(run=cmd_serve)
    return parser


def _version() -> str:
    try:
        from . import __version__

        return f"shoprec {__version__}"
    except ImportError:  # pragma: no cover
        return "shoprec"


def main(argv: Optional[Sequence[str]] = None, *, out: Optional[TextIO] = None) -> int:
    """Run the command line; returns the exit code (``shoprec`` calls ``sys.exit`` with it)."""
    out = out if out is not None else sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version (0) or a usage error (2)
        return int(exc.code or 0)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("shoprec").setLevel(level)
    if not args.verbose:
        logging.getLogger("shoprec.shop").setLevel(max(level, logging.WARNING) if sys.stderr.isatty() else level)
    from .errors import ShoprecError

    try:
        return int(args.run(args, out))
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"shoprec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ShoprecError, OSError) as exc:
        if args.verbose:
            logger.exception("failed")
        print(f"shoprec {args.command}: error: {exc}", file=sys.stderr)
        return 1


def main_exit() -> None:
    """The ``shoprec`` console script."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_exit()
