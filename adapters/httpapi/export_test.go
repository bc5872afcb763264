package httpapi

// HTTPStatus lets the external tests hold answers to the code→status mapping.
var HTTPStatus = httpStatus
