"""Routes of the example Django project."""

from django.urls import path

from example_project.django_app import views

urlpatterns = [
    path("products/<int:product_id>", views.product),
    path("pages/<int:product_id>", views.product_page),
    path("account/<int:account_id>", views.account),
]
