"""Tables and figures built from results JSON files and scores stores."""
