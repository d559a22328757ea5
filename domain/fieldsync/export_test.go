package fieldsync

// MaskNumbers is maskNumbers, for the tests.
var MaskNumbers = maskNumbers
