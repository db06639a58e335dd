# The column of the SRM attachment's name takes the name every interface gives it (it had
# GRID_LRT's, ``file_upload``); the values are kept.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tokens_app", "0004_operation"),
    ]

    operations = [
        migrations.RenameField(model_name="campaign", old_name="file_upload", new_name="srm_attachment"),
        migrations.AlterField(
            model_name="campaign",
            name="srm_attachment",
            field=models.CharField(blank=True, default="srm.txt", max_length=255, verbose_name="SRM attachment name"),
        ),
    ]
