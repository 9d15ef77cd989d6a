"""Attribution: what each figure is (type and sign), what it measures (metric), where (region)
and when (period)."""
