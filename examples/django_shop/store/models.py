"""The shop's own tables: products, orders, and the events the site records."""

from django.db import models


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    category = models.CharField(max_length=100, blank=True, default="", db_index=True)
    brand = models.CharField(max_length=100, blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    stock = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"


class Order(models.Model):
    """A purchase: one product bought by one shopper."""

    user = models.CharField(max_length=64, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="orders")
    quantity = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(db_index=True)


class Event(models.Model):
    """A view, cart or favourite recorded by the site (purchases are Orders)."""

    KINDS = [("view", "view"), ("cart", "cart"), ("favorite", "favorite"), ("purchase", "purchase")]
    user = models.CharField(max_length=64, db_index=True)
    item = models.CharField(max_length=64)
    event = models.CharField(max_length=16, choices=KINDS)
    timestamp = models.DateTimeField(db_index=True)
