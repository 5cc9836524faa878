"""Drop two single-column foreign-key indexes that other indexes already cover.

- ``directory_target.jurisdiction_id``: the unique (jurisdiction_id, code) index starts with it.
  PostgreSQL's planner chose it for the import's look-up of existing codes on a never-analysed
  table, reading every target the import had already inserted once per 5,000-row chunk.
- ``directory_directoryentry.department_id``: (department_id, target_id) and
  (department_id, active) start with it.

Each index costs time on every row of a million-row import. Dropped with plain SQL (the state
change is ``db_index=False``) so that SQLite does not rebuild the tables.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_audit_indexes"),
        ("directory", "0002_entry_updated_at_removed_reason"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "directory_directoryentry_department_id_398b978c"',
                    'CREATE INDEX "directory_directoryentry_department_id_398b978c" '
                    'ON "directory_directoryentry" ("department_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "directory_target_jurisdiction_id_f79040b8"',
                    'CREATE INDEX "directory_target_jurisdiction_id_f79040b8" '
                    'ON "directory_target" ("jurisdiction_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="directoryentry",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="directory_entries",
                        to="core.department",
                    ),
                ),
                migrations.AlterField(
                    model_name="target",
                    name="jurisdiction",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.jurisdiction",
                    ),
                ),
            ],
        )
    ]
