from django.db import migrations


def load(apps, schema_editor):
    from matching.reference_data import load_languages

    load_languages(apps.get_model("matching", "Language"))


class Migration(migrations.Migration):
    dependencies = [("matching", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
