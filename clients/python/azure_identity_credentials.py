"""azure-identity's ClientSecretCredential and EnvironmentCredential against a running emulator.

Usage: python azure_identity_credentials.py CONNECTION_FILE
The emulator's CA comes from REQUESTS_CA_BUNDLE, as users set it. Prints one JSON object.
"""

import json
import os
import sys

from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, EnvironmentCredential


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        conn = json.load(f)
    tenant, admin = conn["tenant_id"], conn["admin"]
    out = {}

    credential = ClientSecretCredential(
        tenant, admin["client_id"], admin["client_secret"],
        authority=conn["base_url"], disable_instance_discovery=True)
    token = credential.get_token("https://management.azure.com/.default")
    out["client_secret_token"] = token.token
    out["client_secret_expires_on"] = token.expires_on

    os.environ.update({
        "AZURE_TENANT_ID": tenant,
        "AZURE_CLIENT_ID": admin["client_id"],
        "AZURE_CLIENT_SECRET": admin["client_secret"],
        "AZURE_AUTHORITY_HOST": conn["base_url"],
    })
    env_token = EnvironmentCredential(disable_instance_discovery=True).get_token(
        "https://graph.microsoft.com/.default")
    out["environment_token"] = env_token.token

    wrong = ClientSecretCredential(
        tenant, admin["client_id"], "not-the-secret",
        authority=conn["base_url"], disable_instance_discovery=True)
    try:
        wrong.get_token("https://management.azure.com/.default")
        out["wrong_secret_error"] = None
    except ClientAuthenticationError as e:
        out["wrong_secret_error"] = str(e.message)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
