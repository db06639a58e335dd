"""Pages of the operations history: ``/operations/`` (every operation, filtered) and the resume
button of an interrupted operation."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views import View
from django.views.generic import ListView

from . import history, services
from .forms import OPERATION_SORTS, OperationFilterForm
from .models import CHANGE_CAMPAIGN
from .services import runs
from .views.mixins import ChangeCampaignRequired

OPERATIONS_PER_PAGE = 50


class OperationListView(ListView):
    template_name = "tokens_app/operation_list.html"
    context_object_name = "operations"
    paginate_by = OPERATIONS_PER_PAGE

    def get_queryset(self):
        self.form = OperationFilterForm(self.request.GET or None)
        filters = self.form.cleaned_data if self.form.is_valid() else {}
        return history.filtered_operations(**filters)

    def get_context_data(self, **kwargs):
        query = self.request.GET.copy()
        query.pop("page", None)
        context = super().get_context_data(
            form=self.form, query=query.urlencode(), may_change=self.request.user.has_perm(CHANGE_CAMPAIGN),
            **history.filter_choices(), **kwargs,
        )
        context["operations"] = history.as_shown(list(context["operations"]))
        context["sorts"] = self.sort_links(query)
        return context

    def sort_links(self, query) -> dict:
        """Each sortable column's query (the filters kept, the first page) and whether the list
        is sorted by it: a click sorts by the column, on the sorted column the other way round."""
        current = self.form.cleaned_data.get("sort", "") if self.form.is_bound and self.form.is_valid() else ""
        links = {}
        for column in OPERATION_SORTS:
            query["sort"] = f"-{column}" if current == column else column
            aria = "ascending" if current == column else "descending" if current == f"-{column}" else ""
            links[column] = {"column": column, "query": query.urlencode(), "aria": aria}
        return links


class ResumeOperationView(ChangeCampaignRequired, View):
    """Queue an interrupted operation again (the guard is asked first); back to where it shows."""

    def post(self, request, pk):
        operation = history.operation(pk)
        if operation is None:
            raise Http404("no such operation")
        try:
            runs.resume_operation(operation, request.user)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.info(request, f"Operation #{operation.pk} is queued again; it goes on where it stopped.")
        return redirect(operation.campaign or "tokens:operations")
