from django import forms
from django.contrib.auth.forms import AuthenticationForm

from sessions_admin import remember


class ConfirmPasswordForm(forms.Form):
    """Re-enter the password of the signed-in user (elevation, or recent authentication)."""

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That password is not correct.", code="password_incorrect")
        return password


class SignInForm(AuthenticationForm):
    """Django's sign-in form, plus the opt-in 'Keep me signed in' box (off by default).

    The box is only offered where ``SESSION_REMEMBER_DAYS`` > 0; where it is not, a ticked box
    sent anyway is ignored (``remember_wanted``).
    """

    remember = forms.BooleanField(label="Keep me signed in", required=False, initial=False)

    def remember_wanted(self) -> bool:
        return bool(self.cleaned_data.get("remember")) and remember.enabled()
