"""``python manage.py shoprec_build``: build the shop from the ORM tables and save it where the
views load it from (settings.SHOPREC_DIR); serving processes switch to it on their own."""

import pandas as pd
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import shoprec
from store.models import Event, Order, Product


class Command(BaseCommand):
    help = "Build the shoprec Shop from the products, orders and events in the database."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=None, help="the shop directory (default: settings.SHOPREC_DIR)")
        parser.add_argument("--no-search", action="store_true", help="build without the search index")
        parser.add_argument("--no-evaluate", action="store_true", help="skip the held-out evaluation")

    def handle(self, *args, **options):
        products = pd.DataFrame.from_records(
            Product.objects.values("sku", "title", "description", "category", "brand", "price", "stock"),
            columns=["sku", "title", "description", "category", "brand", "price", "stock"])
        if products.empty:
            raise CommandError("no products in the database")
        products = products.rename(columns={"sku": "id"})
        products["price"] = products["price"].astype(float)
        products["in_stock"] = products["stock"] > 0
        orders = pd.DataFrame.from_records(Order.objects.values("user", "product__sku", "created_at"),
                                           columns=["user", "product__sku", "created_at"])
        orders = orders.rename(columns={"product__sku": "item", "created_at": "timestamp"}).assign(event="purchase")
        events = pd.DataFrame.from_records(Event.objects.values("user", "item", "event", "timestamp"),
                                           columns=["user", "item", "event", "timestamp"])
        log = pd.concat([events, orders[["user", "item", "event", "timestamp"]]], ignore_index=True)
        if log.empty:
            raise CommandError("no orders or events in the database")
        log["timestamp"] = pd.to_datetime(log["timestamp"], utc=True).dt.tz_convert(None)
        config = {"search": not options["no_search"], "evaluate": not options["no_evaluate"]}
        verbosity = options.get("verbosity", 1)
        try:
            shop = shoprec.Shop.build(products, log, config=config, progress=verbosity > 0)
        except shoprec.ShoprecError as exc:
            raise CommandError(str(exc)) from None
        target = options["out"] or settings.SHOPREC_DIR
        shop.save(target)
        build = shop.reports["build"]
        self.stdout.write(f"Built {target}: {build['products']} products, {build['shoppers']} shoppers, "
                          f"{build['interactions']} interactions (search {'on' if build['search'] else 'off'})")
