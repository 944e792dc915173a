from django.contrib.admin.apps import AdminConfig


class SiriusAdminConfig(AdminConfig):
    """django.contrib.admin with our site class (see marketplace.admin_site), kept in a module of
    its own because app configs are imported before models can be."""

    default_site = "marketplace.admin_site.SiriusAdminSite"
