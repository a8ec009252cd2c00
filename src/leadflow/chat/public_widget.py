"""GET /e/chat/config?key=&page_url=[&live=1]: the chat launcher's settings for one page
(``chat.widget.widget_config``), without login. CORS by the workspace's allowed sites
(core.publickit); 404 for an unknown key, 403 for a site not allowed. Cached by the
browser for a minute (``Vary: Origin``): a changed setting shows within it."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from leadflow.chat.widget import widget_config
from leadflow.core.publickit import clip, cors, workspace_by_public_key, workspace_refusal

CACHE_SECONDS = 60


@require_http_methods(["GET", "OPTIONS"])
def chat_config(request: HttpRequest) -> HttpResponse:
    workspace = workspace_by_public_key(request.GET.get("key"))
    refused = workspace_refusal(request, workspace, "This site may not use this workspace's chat.")
    if refused is not None or request.method == "OPTIONS":
        return refused or cors(HttpResponse(status=204), request)
    page_url = clip(request.GET.get("page_url", ""))
    live = request.GET.get("live") == "1"  # a person has the visitor's chat: follow it here
    response = JsonResponse(widget_config(workspace, page_url, live=live))
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return cors(response, request)
