"""MSAL Python's ConfidentialClientApplication against a running emulator.

Usage: python msal_client_credentials.py CONNECTION_FILE
Trust for the emulator's CA comes from REQUESTS_CA_BUNDLE, as a user would set it.
Prints one JSON object with what MSAL returned for a valid and a wrong secret.
"""

import json
import sys

import msal


def acquire(conn, secret):
    app = msal.ConfidentialClientApplication(
        conn["admin"]["client_id"],
        client_credential=secret,
        authority=f"{conn['base_url']}/{conn['tenant_id']}",
        # The emulator is not a well-known Microsoft host: instance discovery would ask
        # login.microsoftonline.com about it.
        instance_discovery=False,
    )
    return app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        conn = json.load(f)
    good = acquire(conn, conn["admin"]["client_secret"])
    bad = acquire(conn, "not-the-secret")
    print(json.dumps({
        "msal_version": msal.__version__,
        "token_type": good.get("token_type"),
        "expires_in": good.get("expires_in"),
        "access_token": good.get("access_token"),
        "good_error": good.get("error_description"),
        "bad_error": bad.get("error"),
        "bad_error_codes": bad.get("error_codes"),
    }))


if __name__ == "__main__":
    main()
