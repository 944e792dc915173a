"""The register starts from the profiles as they are: one status change per profile that is or
was a member (its current status since ``membership_since``), recorded by nobody."""

from django.db import migrations


def create_initial_history(apps, schema_editor):
    MemberProfile = apps.get_model("marketplace", "MemberProfile")
    MembershipChange = apps.get_model("governance", "MembershipChange")
    already = set(MembershipChange.objects.values_list("member_id", flat=True))
    MembershipChange.objects.bulk_create(
        MembershipChange(
            member_id=profile.pk,
            status=profile.membership_status,
            effective_on=profile.membership_since,
            reason="Register opened: status carried over from the member profile",
        )
        for profile in MemberProfile.objects.order_by("pk")
        if profile.pk not in already
    )


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_votes_and_register")]

    operations = [migrations.RunPython(create_initial_history, migrations.RunPython.noop)]
