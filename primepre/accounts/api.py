"""API tokens over HTTP: `POST /api/v1/auth/token/` (username and password → a token that expires),
`DELETE /api/v1/auth/token/` (revoke the token used), `POST /api/v1/auth/token/revoke-all/` (revoke all of mine).

Sign-in goes through Django's `authenticate`, so django-axes counts failures here as on the login pages, and a locked
out client gets 429 `too_many_attempts` with the time left.
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.auth import TokenAuthentication
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from primepre.common.api import ErrorSerializer

from .lockout import lockout_message, time_left
from .tokens import issue_token, revoke_all_tokens, revoke_token


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown only once.")
    expiry = serializers.DateTimeField(help_text="After this the token no longer works; ask for a new one.")


class InvalidCredentials(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Unable to log in with the username and password given."
    default_code = "invalid_credentials"


class TooManyAttempts(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "too_many_attempts"

    def __init__(self, request: Any, credentials: dict[str, Any]) -> None:
        left = time_left(request, credentials)
        super().__init__(lockout_message(left))
        self.wait = max(1, math.ceil(left.total_seconds()))  # DRF turns `wait` into a Retry-After header


class TokenView(APIView):
    authentication_classes = [TokenAuthentication]

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    def perform_authentication(self, request: Request) -> None:
        # Getting a token needs no token: a client still sending its expired one must be able to log in again.
        if request.method != "POST":
            super().perform_authentication(request)

    @extend_schema(
        tags=["auth"],
        summary="Log in: a token that expires after API_TOKEN_TTL_HOURS",
        auth=[],
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="`validation_error` (blank fields) or `invalid_credentials`"
            ),
            429: OpenApiResponse(
                ErrorSerializer, description="`too_many_attempts`: wait the minutes the message gives"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username, password = data.validated_data["username"], data.validated_data["password"]
        # The Django request, not DRF's wrapper: axes marks it, and its middleware reads the mark.
        django_request = request._request
        user = authenticate(django_request, username=username, password=password)
        if user is None:
            if getattr(django_request, "axes_locked_out", False):
                raise TooManyAttempts(django_request, {"username": username})
            raise InvalidCredentials()
        instance, token = issue_token(user)
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        return Response(TokenSerializer({"token": token, "expiry": instance.expiry}).data)

    @extend_schema(
        tags=["auth"],
        summary="Revoke the token this request is made with",
        request=None,
        responses={204: None, 401: OpenApiResponse(ErrorSerializer, description="no valid token")},
    )
    def delete(self, request: Request) -> Response:
        revoke_token(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RevokeTokenView(APIView):
    """`POST …/revoke/`: the same as DELETE on the token endpoint, for clients that cannot send DELETE."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Revoke the token this request is made with",
        request=None,
        responses={204: None, 401: OpenApiResponse(ErrorSerializer, description="no valid token")},
    )
    def post(self, request: Request) -> Response:
        revoke_token(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RevokeAllTokensView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Revoke every token of the user this request is made for",
        request=None,
        responses={
            200: inline_serializer("TokensRevoked", {"revoked": serializers.IntegerField()}),
            401: OpenApiResponse(ErrorSerializer, description="no valid token"),
        },
    )
    def post(self, request: Request) -> Response:
        return Response({"revoked": revoke_all_tokens(request.user)})
