region    = "eu-west-1"
db_password_file = "/run/secrets/db"
api_token = ""
