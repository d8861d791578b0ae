"""Storage backends behind one small Protocol (:mod:`.base`): local disk, S3, memory."""
