from django import forms

# A canonical file may be empty (a draw with no exclusions has an empty excluded.tsv, §1.2):
# only the JSON documents are required to have content.


class VerifyDrawForm(forms.Form):
    record = forms.FileField(label="抽取结果 (release) JSON")
    population = forms.FileField(label="候选对象文件 population.tsv", allow_empty_file=True)
    excluded = forms.FileField(label="排除对象文件 excluded.tsv", allow_empty_file=True)
    announcement = forms.FileField(label="抽取公告 (announcement) JSON", required=False)
    strata = forms.FileField(
        label="分层文件 strata.tsv（仅任务部门和审计人员持有）", required=False
    )


class VerifyAssignForm(forms.Form):
    record = forms.FileField(label="人员抽取记录 JSON")
    teams = forms.FileField(label="检查组文件 teams.tsv")
    need = forms.FileField(label="人员需求文件 need.tsv")
    eligibility = forms.FileField(label="人员资格文件 eligibility.tsv", allow_empty_file=True)
    announcement = forms.FileField(label="人员抽取公告 (announcement) JSON", required=False)
    draw = forms.FileField(label="对象抽取结果 (release) JSON", required=False)
