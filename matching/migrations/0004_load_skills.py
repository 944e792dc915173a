from django.db import migrations


def load(apps, schema_editor):
    from matching.skill_import import import_skills

    import_skills(
        skill_model=apps.get_model("matching", "Skill"),
        group_model=apps.get_model("matching", "SkillGroup"),
    )


class Migration(migrations.Migration):
    dependencies = [("matching", "0003_skills_and_validation")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
