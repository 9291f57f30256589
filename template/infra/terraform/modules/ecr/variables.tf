variable "name" {
  description = "The repository's name (the project slug): one repository for every environment, so an image is built once and promoted."
  type        = string
}

variable "keep_images" {
  description = "Tagged images to keep; older ones expire (deployed revisions are far fewer)."
  type        = number
  default     = 200
}
