"""ECG paper as plain geometry and colours, Qt-free: where each lead goes (layouts), the paper
and trace colours (theme), the heat band's full scale (heat). The viewer (ecgviewer/ui) and the
printed report (ecgviewer/report) both draw from here, so they agree, and the report never
imports the UI (an import-linter contract in pyproject.toml)."""
