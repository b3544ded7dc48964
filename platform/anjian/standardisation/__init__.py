"""Safety standardisation (安全生产标准化): each enterprise's certification under a
scheme, from application through review, 达标, renewal and look-backs to delisting;
the accidents and open major hazards that bar a renewal; the programme's targets and
its progress per 板块; the supervision class of each enterprise."""
