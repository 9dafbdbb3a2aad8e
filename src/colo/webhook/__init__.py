"""colo-webhook's decisions (pure): AdmissionReview in, AdmissionReview out."""
