"""``python manage.py shoprec_demo_data``: fill the database with shoprec's demo shop
(products, orders for its purchases, events for its views and carts)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from shoprec.datasets import demo_shop
from store.models import Event, Order, Product


class Command(BaseCommand):
    help = "Fill the database with a generated demo shop (replaces what is there)."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=2000)
        parser.add_argument("--products", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        data = demo_shop(n_users=options["users"], n_products=options["products"], seed=options["seed"])
        p = data.products
        with transaction.atomic():
            Event.objects.all().delete()
            Order.objects.all().delete()
            Product.objects.all().delete()
            Product.objects.bulk_create(
                Product(sku=sku, title=title, description=description, category=category, brand=brand,
                        price=round(price, 2), stock=stock)
                for sku, title, description, category, brand, price, stock in zip(
                    p["id"], p["title"], p["description"], p["category"], p["brand"], p["price"], p["stock"]))
            ids = dict(Product.objects.values_list("sku", "id"))
            e = data.events
            stamps = e["timestamp"].dt.tz_localize("UTC").dt.to_pydatetime()
            bought = (e["event"] == "purchase").to_numpy()
            Order.objects.bulk_create(
                Order(user=user, product_id=ids[item], created_at=when)
                for user, item, when in zip(e["user"][bought], e["item"][bought], stamps[bought]))
            Event.objects.bulk_create(
                (Event(user=user, item=item, event=kind, timestamp=when)
                 for user, item, kind, when in zip(e["user"][~bought], e["item"][~bought], e["event"][~bought],
                                                    stamps[~bought])), batch_size=5000)
        self.stdout.write(f"Loaded {len(p)} products, {int(bought.sum())} orders, {int((~bought).sum())} events")
