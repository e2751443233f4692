from django.urls import path

from store import views

urlpatterns = [
    path("", views.page),
    path("recommend/<str:user>", views.recommend),
    path("similar/<str:item>", views.similar),
    path("search", views.search),
    path("events", views.events),
    path("refresh", views.refresh),
    path("metrics", views.metrics),
]
handler404 = "store.views.not_found"
handler500 = "store.views.server_error"
